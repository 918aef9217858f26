import { z } from 'zod';
import { DEFAULT_TASK_QUEUE } from '../workflows';
import { parseDuration } from './duration';
import { isGuid } from '../dynamics';
import { redactUrl } from '../store';
import type {
  AppConfig,
  DynamicsConfig,
  MarketoConfig,
  OperationsConfig,
  SyncConfig,
  TemporalConfig,
} from './types';

/** Where the Temporal UI runs by default (`oppsync dev`, `temporal server start-dev`): the codec server's CORS. */
export const DEFAULT_UI_ORIGINS = ['http://localhost:8233', 'http://127.0.0.1:8233'] as const;

/** Invalid configuration: stops start-up and names the variable at fault. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
  }
}

const LOGICAL_NAME = /^[a-z_][a-z0-9_]*$/;

type Env = Record<string, string | undefined>;

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function httpsUrl(env: Env, name: string): string | undefined {
  const value = text(env, name);
  if (value === undefined) return undefined;
  const parsed = z.url({ protocol: /^https$/ }).safeParse(value);
  if (!parsed.success) throw new ConfigError(name, `must be an https URL, got '${redactUrl(value)}'`);
  return value.replace(/\/+$/, '');
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = text(env, name);
  if (value === undefined) return fallback;
  const parsed = z.coerce.number().int().min(min).max(max).safeParse(value);
  if (!/^\d+$/.test(value) || !parsed.success) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got '${value}'`);
  }
  return parsed.data;
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const value = text(env, name);
  if (value === undefined) return fallback;
  const parsed = z.enum(['true', 'false']).safeParse(value.toLowerCase());
  if (!parsed.success) throw new ConfigError(name, `must be true or false, got '${value}'`);
  return parsed.data === 'true';
}

function logicalNames(env: Env, name: string): string[] {
  const value = text(env, name);
  if (value === undefined) return [];
  const names = value.split(',').map((part) => part.trim().toLowerCase());
  const bad = names.find((part) => !LOGICAL_NAME.test(part));
  if (bad !== undefined) throw new ConfigError(name, `'${bad}' is not a Dataverse column logical name`);
  return [...new Set(names)];
}

function storeUrl(env: Env): string {
  const value = text(env, 'MARKETO_DB_URL') ?? 'sqlite:./data/marketo.sqlite';
  if (/^sqlite:.+/.test(value) || /^postgres(ql)?:\/\/.+/.test(value)) return value;
  throw new ConfigError(
    'MARKETO_DB_URL',
    `must be 'sqlite:<file>' or 'postgres://…', got '${redactUrl(value)}'`,
  );
}

function dynamicsConfig(env: Env): DynamicsConfig {
  const url = httpsUrl(env, 'DYNAMICS_URL');
  const authority = httpsUrl(env, 'DYNAMICS_AUTHORITY');
  const tenantId = text(env, 'DYNAMICS_TENANT_ID');
  const clientId = text(env, 'DYNAMICS_CLIENT_ID');
  const clientSecret = text(env, 'DYNAMICS_CLIENT_SECRET');
  const username = text(env, 'DYNAMICS_USERNAME');
  const password = env.DYNAMICS_PASSWORD;
  if (url === undefined) return { authority };
  if (tenantId === undefined)
    throw new ConfigError('DYNAMICS_TENANT_ID', 'is required when DYNAMICS_URL is set');
  if (clientId === undefined)
    throw new ConfigError('DYNAMICS_CLIENT_ID', 'is required when DYNAMICS_URL is set');
  if (!isGuid(clientId))
    throw new ConfigError('DYNAMICS_CLIENT_ID', 'must be the application (client) id, a GUID');
  if (clientSecret === undefined && username === undefined) {
    throw new ConfigError(
      'DYNAMICS_CLIENT_SECRET',
      'set it (client credentials) or DYNAMICS_USERNAME and DYNAMICS_PASSWORD (username/password)',
    );
  }
  if (clientSecret === undefined && (password === undefined || password === '')) {
    throw new ConfigError('DYNAMICS_PASSWORD', 'is required with DYNAMICS_USERNAME');
  }
  return { url, tenantId, clientId, clientSecret, username, password, authority };
}

function temporalConfig(env: Env): TemporalConfig {
  const address = hostPort(env, 'TEMPORAL_ADDRESS');
  const clientCertPath = text(env, 'TEMPORAL_TLS_CERT');
  const clientKeyPath = text(env, 'TEMPORAL_TLS_KEY');
  if ((clientCertPath === undefined) !== (clientKeyPath === undefined)) {
    throw new ConfigError(
      clientCertPath === undefined ? 'TEMPORAL_TLS_CERT' : 'TEMPORAL_TLS_KEY',
      'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together',
    );
  }
  const serverRootCaPath = text(env, 'TEMPORAL_TLS_CA');
  const serverName = text(env, 'TEMPORAL_TLS_SERVER_NAME');
  const apiKey = text(env, 'TEMPORAL_API_KEY');
  const tlsWanted =
    clientCertPath !== undefined ||
    serverRootCaPath !== undefined ||
    serverName !== undefined ||
    text(env, 'TEMPORAL_TLS') === 'true' ||
    apiKey !== undefined;
  return {
    address: address ?? '127.0.0.1:7233',
    addressFromEnv: address !== undefined,
    namespace: text(env, 'TEMPORAL_NAMESPACE') ?? 'default',
    taskQueue: text(env, 'TEMPORAL_TASK_QUEUE') ?? DEFAULT_TASK_QUEUE,
    tls: tlsWanted ? { clientCertPath, clientKeyPath, serverRootCaPath, serverName } : undefined,
    apiKey,
  };
}

function syncConfig(env: Env): SyncConfig {
  const interval = text(env, 'SYNC_INTERVAL') ?? '5m';
  const intervalMs = parseDuration(interval);
  if (intervalMs === undefined || intervalMs < 1000) {
    throw new ConfigError(
      'SYNC_INTERVAL',
      `must be a duration of at least 1s such as '5m' or '1h', got '${interval}'`,
    );
  }
  const filter = logicalNames(env, 'SYNC_FILTER_ATTRIBUTE');
  if (filter.length > 1) throw new ConfigError('SYNC_FILTER_ATTRIBUTE', 'takes one column, not a list');
  return {
    interval,
    intervalMs,
    pageSize: integer(env, 'SYNC_PAGE_SIZE', 5000, 1, 5000),
    opportunityFields: logicalNames(env, 'SYNC_OPPORTUNITY_FIELDS'),
    filterAttribute: filter[0],
    readAhead: flag(env, 'SYNC_READ_AHEAD', true),
  };
}

const MARKETO_FIELD = /^[A-Za-z][A-Za-z0-9_]*$/;

function marketoConfig(env: Env, sync: SyncConfig): MarketoConfig {
  const restUrl = httpsUrl(env, 'MARKETO_REST_URL');
  const clientId = text(env, 'MARKETO_CLIENT_ID');
  const clientSecret = text(env, 'MARKETO_CLIENT_SECRET');
  if (restUrl !== undefined && clientId === undefined)
    throw new ConfigError('MARKETO_CLIENT_ID', 'is required when MARKETO_REST_URL is set');
  if (restUrl !== undefined && clientSecret === undefined)
    throw new ConfigError('MARKETO_CLIENT_SECRET', 'is required when MARKETO_REST_URL is set');
  if (restUrl !== undefined && /\/(rest|identity)(\/|$)/.test(new URL(restUrl).pathname))
    throw new ConfigError(
      'MARKETO_REST_URL',
      'is the instance base (https://<munchkin>.mktorest.com), without /rest',
    );
  const leadLookupField = text(env, 'MARKETO_LEAD_LOOKUP_FIELD') ?? 'email';
  if (!MARKETO_FIELD.test(leadLookupField))
    throw new ConfigError(
      'MARKETO_LEAD_LOOKUP_FIELD',
      `'${leadLookupField}' is not a Marketo field API name`,
    );
  const opportunityFieldMap = (text(env, 'MARKETO_OPPORTUNITY_FIELD_MAP') ?? '')
    .split(',')
    .map((pair) => pair.trim())
    .filter((pair) => pair !== '')
    .map((pair) => {
      const [column = '', field = '', ...rest] = pair.split(':').map((part) => part.trim());
      if (rest.length > 0 || !LOGICAL_NAME.test(column.toLowerCase()) || !MARKETO_FIELD.test(field))
        throw new ConfigError(
          'MARKETO_OPPORTUNITY_FIELD_MAP',
          `'${pair}' is not dynamicsColumn:marketoField`,
        );
      if (!sync.opportunityFields.includes(column.toLowerCase()))
        throw new ConfigError(
          'MARKETO_OPPORTUNITY_FIELD_MAP',
          `'${column}' is not one of SYNC_OPPORTUNITY_FIELDS, so the sync does not read it`,
        );
      return Object.freeze({ column: column.toLowerCase(), field });
    });
  return {
    restUrl,
    clientId,
    clientSecret,
    leadLookupField,
    opportunityFieldMap,
    // Marketo's instance limits are 100 calls per 20 s and 10 at once: more can never be sent.
    maxCallsPer20s: integer(env, 'MARKETO_MAX_CALLS_PER_20S', 50, 1, 100),
    maxConcurrent: integer(env, 'MARKETO_MAX_CONCURRENT', 5, 1, 10),
    dailyQuota: integer(env, 'MARKETO_DAILY_QUOTA', 50_000, 1, 10_000_000),
  };
}

function hostPort(env: Env, name: string): string | undefined {
  const value = text(env, name);
  if (value !== undefined && !/^[A-Za-z0-9.\-[\]:]+:\d+$/.test(value))
    throw new ConfigError(name, `must be host:port, got '${value}'`);
  return value;
}

function duration(env: Env, name: string, fallback: string): number {
  const value = text(env, name) ?? fallback;
  const ms = parseDuration(value);
  if (ms === undefined)
    throw new ConfigError(name, `must be a duration such as '30s' or '2m', got '${value}'`);
  return ms;
}

function operationsConfig(env: Env): OperationsConfig {
  const logFormat = text(env, 'LOG_FORMAT');
  if (logFormat !== undefined && logFormat !== 'json' && logFormat !== 'pretty')
    throw new ConfigError('LOG_FORMAT', `must be json or pretty, got '${logFormat}'`);
  const codecToken = text(env, 'OPPSYNC_CODEC_TOKEN');
  if (codecToken !== undefined && codecToken.length < 16)
    throw new ConfigError('OPPSYNC_CODEC_TOKEN', 'must be at least 16 characters (openssl rand -hex 16)');
  const origins = (text(env, 'OPPSYNC_CODEC_ORIGINS') ?? DEFAULT_UI_ORIGINS.join(','))
    .split(',')
    .map((origin) => origin.trim().replace(/\/+$/, ''));
  const badOrigin = origins.find((origin) => !z.url({ protocol: /^https?$/ }).safeParse(origin).success);
  if (badOrigin !== undefined)
    throw new ConfigError('OPPSYNC_CODEC_ORIGINS', `'${badOrigin}' is not an http(s) origin`);
  const buildId = text(env, 'OPPSYNC_BUILD_ID');
  const promote = z.enum(['first', 'always', 'never']).safeParse(text(env, 'OPPSYNC_PROMOTE') ?? 'first');
  if (!promote.success)
    throw new ConfigError('OPPSYNC_PROMOTE', `must be first, always or never, got '${env.OPPSYNC_PROMOTE}'`);
  return {
    metricsAddress: hostPort(env, 'OPPSYNC_METRICS_ADDRESS'),
    logFormat,
    deploymentName: text(env, 'OPPSYNC_DEPLOYMENT_NAME') ?? 'oppsync',
    buildId,
    promote: promote.data,
    shutdownGraceMs: duration(env, 'OPPSYNC_SHUTDOWN_GRACE', '30s'),
    codecToken,
    codecOrigins: origins,
  };
}

function payloadKey(env: Env): Buffer | undefined {
  const value = text(env, 'OPPSYNC_PAYLOAD_KEY');
  if (value === undefined) return undefined;
  const key = Buffer.from(value, 'base64');
  if (key.length !== 32)
    throw new ConfigError(
      'OPPSYNC_PAYLOAD_KEY',
      'must be 32 random bytes in base64 (openssl rand -base64 32)',
    );
  return key;
}

/** Reads and validates the whole configuration once; nothing else reads process.env. */
export function loadConfig(env: Env = process.env): AppConfig {
  const logLevel = text(env, 'LOG_LEVEL') ?? 'info';
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(logLevel)) {
    throw new ConfigError(
      'LOG_LEVEL',
      `must be one of trace, debug, info, warn, error, silent; got '${logLevel}'`,
    );
  }
  const sync = Object.freeze(syncConfig(env));
  return Object.freeze({
    dynamics: Object.freeze(dynamicsConfig(env)),
    marketo: Object.freeze(marketoConfig(env, sync)),
    storeUrl: storeUrl(env),
    temporal: Object.freeze(temporalConfig(env)),
    sync,
    payloadKey: payloadKey(env),
    payloadKeyId: text(env, 'OPPSYNC_PAYLOAD_KEY_ID') ?? 'default',
    logLevel,
    operations: Object.freeze(operationsConfig(env)),
  });
}
