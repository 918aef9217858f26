import { ConfigError, loadConfig, parseDuration } from '../config';

const dynamicsEnv = {
  DYNAMICS_URL: 'https://contoso.crm.dynamics.com/',
  DYNAMICS_TENANT_ID: 'contoso.onmicrosoft.com',
  DYNAMICS_CLIENT_ID: '0f8fad5b-d9cb-469f-a165-70867728950e',
  DYNAMICS_CLIENT_SECRET: 's3cret-value',
};

const marketoCredentials = { MARKETO_CLIENT_ID: 'mkto-id', MARKETO_CLIENT_SECRET: 'mkto-s3cret' };

function failure(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('configuration', () => {
  it('has the documented defaults on an empty environment', () => {
    const config = loadConfig({});
    expect(config.storeUrl).toBe('sqlite:./data/marketo.sqlite');
    expect(config.temporal).toMatchObject({
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'opportunity-sync',
      addressFromEnv: false,
    });
    expect(config.sync).toMatchObject({
      interval: '5m',
      intervalMs: 300_000,
      pageSize: 5000,
      opportunityFields: [],
      readAhead: true,
    });
    expect(config.sync.filterAttribute).toBeUndefined();
    expect(config.dynamics.url).toBeUndefined();
    expect(config.operations).toEqual({
      metricsAddress: undefined,
      logFormat: undefined,
      deploymentName: 'oppsync',
      buildId: undefined,
      promote: 'first',
      shutdownGraceMs: 30_000,
      codecToken: undefined,
      codecOrigins: ['http://localhost:8233', 'http://127.0.0.1:8233'],
    });
  });

  it.each([
    ['OPPSYNC_METRICS_ADDRESS', '9464', /host:port/],
    ['LOG_FORMAT', 'yaml', /json or pretty/],
    ['OPPSYNC_SHUTDOWN_GRACE', 'soon', /duration/],
    ['OPPSYNC_PROMOTE', 'auto', /first, always or never/],
    ['OPPSYNC_CODEC_TOKEN', 'short', /at least 16/],
    ['OPPSYNC_CODEC_ORIGINS', 'http://localhost:8233,ftp://x', /'ftp:\/\/x' is not an http\(s\) origin/],
  ])('rejects %s=%s, naming it', (variable, value, problem) => {
    const error = failure({ [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(problem);
  });

  it('reads the operations settings', () => {
    const config = loadConfig({
      OPPSYNC_METRICS_ADDRESS: '0.0.0.0:9464',
      LOG_FORMAT: 'json',
      OPPSYNC_DEPLOYMENT_NAME: 'oppsync-eu',
      OPPSYNC_BUILD_ID: '2026-12-01.1',
      OPPSYNC_PROMOTE: 'never',
      OPPSYNC_SHUTDOWN_GRACE: '2m',
      OPPSYNC_CODEC_TOKEN: 'a'.repeat(32),
      OPPSYNC_CODEC_ORIGINS: 'https://ui.example.com/',
    });
    expect(config.operations).toEqual({
      metricsAddress: '0.0.0.0:9464',
      logFormat: 'json',
      deploymentName: 'oppsync-eu',
      buildId: '2026-12-01.1',
      promote: 'never',
      shutdownGraceMs: 120_000,
      codecToken: 'a'.repeat(32),
      codecOrigins: ['https://ui.example.com'],
    });
  });

  it('reads the Marketo destination: off by default, its limits and field map when set', () => {
    expect(loadConfig({}).marketo).toEqual({
      restUrl: undefined,
      clientId: undefined,
      clientSecret: undefined,
      leadLookupField: 'email',
      opportunityFieldMap: [],
      maxCallsPer20s: 50,
      maxConcurrent: 5,
      dailyQuota: 50_000,
    });
    const config = loadConfig({
      MARKETO_REST_URL: 'https://123-abc-456.mktorest.com/',
      ...marketoCredentials,
      MARKETO_LEAD_LOOKUP_FIELD: 'dynamicsContactId',
      SYNC_OPPORTUNITY_FIELDS: 'new_region,new_score',
      MARKETO_OPPORTUNITY_FIELD_MAP: 'new_region:region, new_score:dealScore',
      MARKETO_MAX_CALLS_PER_20S: '100',
      MARKETO_MAX_CONCURRENT: '10',
      MARKETO_DAILY_QUOTA: '10000',
    });
    expect(config.marketo).toEqual({
      restUrl: 'https://123-abc-456.mktorest.com',
      ...{ clientId: 'mkto-id', clientSecret: 'mkto-s3cret' },
      leadLookupField: 'dynamicsContactId',
      opportunityFieldMap: [
        { column: 'new_region', field: 'region' },
        { column: 'new_score', field: 'dealScore' },
      ],
      maxCallsPer20s: 100,
      maxConcurrent: 10,
      dailyQuota: 10_000,
    });
  });

  it('turns reading ahead off with SYNC_READ_AHEAD=false', () => {
    expect(loadConfig({ SYNC_READ_AHEAD: 'FALSE' }).sync.readAhead).toBe(false);
    expect(loadConfig({ SYNC_READ_AHEAD: 'true' }).sync.readAhead).toBe(true);
  });

  it('reads a full Dynamics connection and strips the trailing slash of the org URL', () => {
    const config = loadConfig(dynamicsEnv);
    expect(config.dynamics.url).toBe('https://contoso.crm.dynamics.com');
    expect(config.dynamics.clientSecret).toBe('s3cret-value');
  });

  it.each([
    [{ SYNC_PAGE_SIZE: '0' }, 'SYNC_PAGE_SIZE'],
    [{ SYNC_PAGE_SIZE: '5001' }, 'SYNC_PAGE_SIZE'],
    [{ SYNC_PAGE_SIZE: 'ten' }, 'SYNC_PAGE_SIZE'],
    [{ SYNC_READ_AHEAD: 'yes' }, 'SYNC_READ_AHEAD'],
    [{ SYNC_INTERVAL: 'often' }, 'SYNC_INTERVAL'],
    [{ MARKETO_DB_URL: 'mysql://db' }, 'MARKETO_DB_URL'],
    [{ DYNAMICS_URL: 'http://contoso.crm.dynamics.com' }, 'DYNAMICS_URL'],
    [{ DYNAMICS_URL: 'https://contoso.crm.dynamics.com' }, 'DYNAMICS_TENANT_ID'],
    [{ ...dynamicsEnv, DYNAMICS_CLIENT_ID: 'not-a-guid' }, 'DYNAMICS_CLIENT_ID'],
    [{ ...dynamicsEnv, DYNAMICS_CLIENT_SECRET: '' }, 'DYNAMICS_CLIENT_SECRET'],
    [
      { ...dynamicsEnv, DYNAMICS_CLIENT_SECRET: '', DYNAMICS_USERNAME: 'ops@contoso.com' },
      'DYNAMICS_PASSWORD',
    ],
    [{ DYNAMICS_AUTHORITY: 'http://idp.example' }, 'DYNAMICS_AUTHORITY'],
    [{ SYNC_OPPORTUNITY_FIELDS: 'new_region, bad-name' }, 'SYNC_OPPORTUNITY_FIELDS'],
    [{ SYNC_FILTER_ATTRIBUTE: 'a,b' }, 'SYNC_FILTER_ATTRIBUTE'],
    [{ TEMPORAL_ADDRESS: 'no-port' }, 'TEMPORAL_ADDRESS'],
    [{ TEMPORAL_TLS_CERT: '/tmp/c.pem' }, 'TEMPORAL_TLS_KEY'],
    [{ OPPSYNC_PAYLOAD_KEY: 'c2hvcnQ=' }, 'OPPSYNC_PAYLOAD_KEY'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ MARKETO_REST_URL: 'http://123-abc-456.mktorest.com' }, 'MARKETO_REST_URL'],
    [
      { MARKETO_REST_URL: 'https://123-abc-456.mktorest.com/rest', ...marketoCredentials },
      'MARKETO_REST_URL',
    ],
    [{ MARKETO_REST_URL: 'https://123-abc-456.mktorest.com' }, 'MARKETO_CLIENT_ID'],
    [
      { MARKETO_REST_URL: 'https://123-abc-456.mktorest.com', MARKETO_CLIENT_ID: 'id' },
      'MARKETO_CLIENT_SECRET',
    ],
    [{ MARKETO_LEAD_LOOKUP_FIELD: 'dynamics contact' }, 'MARKETO_LEAD_LOOKUP_FIELD'],
    [{ MARKETO_OPPORTUNITY_FIELD_MAP: 'new_region' }, 'MARKETO_OPPORTUNITY_FIELD_MAP'],
    [{ MARKETO_OPPORTUNITY_FIELD_MAP: 'new_region:region' }, 'MARKETO_OPPORTUNITY_FIELD_MAP'],
    [{ MARKETO_MAX_CALLS_PER_20S: '101' }, 'MARKETO_MAX_CALLS_PER_20S'],
    [{ MARKETO_MAX_CONCURRENT: '11' }, 'MARKETO_MAX_CONCURRENT'],
    [{ MARKETO_DAILY_QUOTA: '0' }, 'MARKETO_DAILY_QUOTA'],
  ])('rejects %j naming %s', (env, variable) => {
    const error = failure(env);
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`${variable}: `)).toBe(true);
  });

  it('never puts a secret into an error message, even one inside the value it rejects', () => {
    const error = failure({ ...dynamicsEnv, DYNAMICS_CLIENT_ID: 'nope' });
    expect(error.message).not.toContain('s3cret-value');
    // Values that are echoed back lose the password they carry.
    const store = failure({ MARKETO_DB_URL: 'postgress://sync:db-s3cret@db.example.com/marketo' });
    expect(store.message).toContain("got 'postgress://sync:***@db.example.com/marketo'");
    expect(store.message).not.toContain('db-s3cret');
    const url = failure({ ...dynamicsEnv, DYNAMICS_URL: 'http://admin:org-s3cret@contoso.crm.dynamics.com' });
    expect(url.variable).toBe('DYNAMICS_URL');
    expect(url.message).not.toContain('org-s3cret');
  });

  it('parses selected fields and the filter column as lower-case logical names', () => {
    const config = loadConfig({
      SYNC_OPPORTUNITY_FIELDS: 'new_Region, new_segment,new_region',
      SYNC_FILTER_ATTRIBUTE: 'new_SyncToMkto',
    });
    expect(config.sync.opportunityFields).toEqual(['new_region', 'new_segment']);
    expect(config.sync.filterAttribute).toBe('new_synctomkto');
  });

  it('turns TLS on for an API key or certificates', () => {
    expect(loadConfig({ TEMPORAL_API_KEY: 'k' }).temporal.tls).toBeDefined();
    expect(loadConfig({}).temporal.tls).toBeUndefined();
  });

  it('parses durations', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('5 minutes')).toBeUndefined();
  });
});
