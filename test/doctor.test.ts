import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { ensureSchedule } from '../client';
import { EMULATOR_DEFAULTS, startEmulator } from '@oppsync/dataverse-emulator';
import { SCHEDULE_ID } from '../workflows';
import { emulatorApp, Harness } from './support/harness';

const BIN = path.join(__dirname, '..', 'bin', 'oppsync.js');
const APP = emulatorApp();

interface Check {
  name: string;
  status: 'PASS' | 'FAIL' | 'SKIP';
  detail: string;
  fix?: string;
}

interface Doctored {
  code: number;
  stdout: string;
  stderr: string;
  checks: Check[];
}

/** `oppsync doctor` as a user runs it (compiled by `npm run build`); --json unless `human`. */
async function doctor(env: Record<string, string>, human = false): Promise<Doctored> {
  let result: { code: number; stdout: string; stderr: string };
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [BIN, 'doctor', ...(human ? [] : ['--json'])],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
    );
    result = { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    result = { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
  const checks = human
    ? result.stdout
        .trim()
        .split('\n')
        .map((line) => {
          const [status, name, ...rest] = line.split('  ');
          const [detail, fix] = rest.join('  ').split(' — fix: ');
          return { status, name, detail, ...(fix === undefined ? {} : { fix }) } as Check;
        })
    : (JSON.parse(result.stdout) as { checks: Check[] }).checks;
  return { ...result, checks };
}

/** One CA file trusting these certificates (NODE_EXTRA_CA_CERTS names one file). */
function caFileOf(...pems: string[]): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'oppsync-ca-')), 'ca.pem');
  fs.writeFileSync(file, pems.join('\n'));
  return file;
}

function named(result: Doctored, name: string): Check {
  const check = result.checks.find((candidate) => candidate.name === name);
  if (check === undefined) throw new Error(`no check '${name}' in ${result.stdout}`);
  return check;
}

/** Names of the checks with that status. */
function withStatus(result: Doctored, status: Check['status']): string[] {
  return result.checks.filter((check) => check.status === status).map((check) => check.name);
}

const TABLE_CHECKS = [
  'read: opportunities',
  'read: contacts',
  'read: accounts',
  'read: connections',
  'read: connectionroles',
  'change tracking: opportunity',
  'change tracking: contact',
  'change tracking: account',
  'change tracking: connection',
  'selected columns (SYNC_OPPORTUNITY_FIELDS)',
  'filter column (SYNC_FILTER_ATTRIBUTE)',
];
const ALL_CHECKS = [
  'configuration',
  'Entra ID client credentials',
  'Entra ID username/password',
  ...TABLE_CHECKS,
  'store reachable',
  'store schema',
  'Temporal reachable',
  'Temporal namespace',
  'search attributes',
  'schedule',
  'Marketo token',
  'Marketo describe',
  'Marketo lead lookup field',
  'Marketo writes (no native CRM sync)',
  'Marketo daily quota',
];

describe('oppsync doctor', () => {
  let h: Harness;

  beforeAll(async () => {
    // One app registration for both flows, as an admin sets it up (public client flows allowed).
    h = await Harness.start({
      store: 'sqlite',
      emulator: { clients: [APP], publicClientIds: [APP.clientId] },
      marketo: {},
    });
    const store = await h.openStore();
    await store.migrate();
    await store.close();
    await ensureSchedule(h.client, { taskQueue: h.config.temporal.taskQueue, every: '5m' });
  });

  afterAll(async () => {
    await h?.close();
  });

  /** A healthy deployment's environment: both flows, extra and filter columns, migrated store, schedule. */
  function env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      DYNAMICS_URL: h.emulator.url,
      DYNAMICS_AUTHORITY: h.emulator.authority,
      DYNAMICS_TENANT_ID: h.emulator.tenantId,
      DYNAMICS_CLIENT_ID: APP.clientId,
      DYNAMICS_CLIENT_SECRET: APP.clientSecret,
      DYNAMICS_USERNAME: EMULATOR_DEFAULTS.user.username,
      DYNAMICS_PASSWORD: EMULATOR_DEFAULTS.user.password,
      NODE_EXTRA_CA_CERTS: h.caFile(),
      MARKETO_REST_URL: h.marketo!.url,
      MARKETO_CLIENT_ID: h.marketo!.clientId,
      MARKETO_CLIENT_SECRET: h.marketo!.clientSecret,
      MARKETO_LEAD_LOOKUP_FIELD: 'dynamicsContactId',
      MARKETO_DB_URL: h.config.storeUrl,
      TEMPORAL_ADDRESS: h.config.temporal.address,
      TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
      SYNC_OPPORTUNITY_FIELDS: 'new_region,_parentaccountid_value',
      SYNC_FILTER_ATTRIBUTE: 'new_synctomkto',
      LOG_LEVEL: 'warn',
      ...extra,
    };
  }

  it('passes every check of a healthy deployment, one line each, and exits 0', async () => {
    const result = await doctor(env(), true);
    expect(result.code).toBe(0);
    expect(result.checks.map((check) => check.name)).toEqual(ALL_CHECKS);
    expect(withStatus(result, 'PASS')).toEqual(ALL_CHECKS);
    expect(named(result, 'Entra ID client credentials').detail).toBe(`token for ${h.emulator.url}/.default`);
    expect(named(result, 'selected columns (SYNC_OPPORTUNITY_FIELDS)').detail).toBe(
      'new_region (String), _parentaccountid_value (Lookup)',
    );
  });

  it('--json prints { ok, checks } on one line', async () => {
    const result = await doctor(env());
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: Check[] };
    expect(report.ok).toBe(true);
    expect(report.checks.map((check) => [check.name, check.status])).toEqual(
      ALL_CHECKS.map((name) => [name, 'PASS']),
    );
  });

  it('a flow that is not configured does not apply: SKIP, and still exit 0', async () => {
    const result = await doctor(env({ DYNAMICS_USERNAME: '', DYNAMICS_PASSWORD: '' }));
    expect(result.code).toBe(0);
    expect(named(result, 'Entra ID username/password')).toMatchObject({
      status: 'SKIP',
      detail: 'not configured: DYNAMICS_USERNAME is unset',
    });
    expect(withStatus(result, 'FAIL')).toEqual([]);
  });

  it('a wrong client secret fails the client-credentials check with the Entra error, never printing the secret', async () => {
    const secret = `wrong-${randomUUID()}`;
    const result = await doctor(env({ DYNAMICS_CLIENT_SECRET: secret }), true);
    expect(result.code).toBe(1);
    const entra = named(result, 'Entra ID client credentials');
    expect(entra.status).toBe('FAIL');
    expect(entra.detail).toContain('invalid_client');
    expect(entra.detail).toContain('AADSTS7000215');
    expect(entra.fix).toContain('DYNAMICS_CLIENT_SECRET');
    expect(`${result.stdout}${result.stderr}`).not.toContain(secret);
    // The other flow is independent; the table checks need the worker's own (client-credentials) token.
    expect(named(result, 'Entra ID username/password').status).toBe('PASS');
    for (const name of TABLE_CHECKS) {
      expect(named(result, name)).toMatchObject({
        status: 'SKIP',
        detail: 'not checked: no token (Entra ID client credentials failed)',
      });
    }
    expect(withStatus(result, 'FAIL')).toEqual(['Entra ID client credentials']);
  });

  it('a refused Read privilege fails that table read check, naming the privilege', async () => {
    h.emulator.faults.denyRead('connectionrole', true);
    let result: Doctored;
    try {
      result = await doctor(env());
    } finally {
      h.emulator.faults.denyRead('connectionrole', false);
    }
    expect(result.code).toBe(1);
    expect(withStatus(result, 'FAIL')).toEqual(['read: connectionroles']);
    const check = named(result, 'read: connectionroles');
    expect(check.detail).toContain('403');
    expect(check.detail).toContain('prvReadConnectionRole');
    expect(check.fix).toContain(`Read privilege (prvReadConnectionRole) on the Connection Role table`);
    expect(check.fix).toContain(APP.clientId);
  });

  it('a table without change tracking fails its own line and says what its absence costs', async () => {
    const untracked = await startEmulator({
      changeTracking: { connection: false },
      clients: [APP],
      publicClientIds: [APP.clientId],
    });
    try {
      const result = await doctor(
        env({
          DYNAMICS_URL: untracked.url,
          DYNAMICS_AUTHORITY: untracked.authority,
          NODE_EXTRA_CA_CERTS: caFileOf(untracked.caPem, h.marketo!.caPem),
        }),
      );
      expect(result.code).toBe(1);
      expect(withStatus(result, 'FAIL')).toEqual(['change tracking: connection']);
      const check = named(result, 'change tracking: connection');
      expect(check.detail).toMatch(/^not enabled: /);
      expect(check.detail).toContain(
        'a stakeholder whose connection is deleted keeps its role until the next full sync',
      );
      expect(check.fix).toContain('Track changes on the Connection table');
      expect(check.fix).toContain('oppsync sync --full');
    } finally {
      await untracked.close();
    }
  });

  it('a selected column the organisation does not have fails the selected-columns check, naming it', async () => {
    const result = await doctor(env({ SYNC_OPPORTUNITY_FIELDS: 'new_region,new_doesnotexist' }));
    expect(result.code).toBe(1);
    expect(withStatus(result, 'FAIL')).toEqual(['selected columns (SYNC_OPPORTUNITY_FIELDS)']);
    expect(named(result, 'selected columns (SYNC_OPPORTUNITY_FIELDS)').detail).toBe(
      "opportunity has no column 'new_doesnotexist'",
    );
  });

  it('a lookup selected by its logical name fails with the name the Web API reads it by', async () => {
    const result = await doctor(env({ SYNC_OPPORTUNITY_FIELDS: 'parentcontactid' }));
    expect(withStatus(result, 'FAIL')).toEqual(['selected columns (SYNC_OPPORTUNITY_FIELDS)']);
    expect(named(result, 'selected columns (SYNC_OPPORTUNITY_FIELDS)').detail).toBe(
      'parentcontactid is a Lookup column: select it as _parentcontactid_value',
    );
  });

  it('a filter column that is not Two Options fails the filter check with its type', async () => {
    const result = await doctor(env({ SYNC_FILTER_ATTRIBUTE: 'new_region' }));
    expect(result.code).toBe(1);
    expect(withStatus(result, 'FAIL')).toEqual(['filter column (SYNC_FILTER_ATTRIBUTE)']);
    expect(named(result, 'filter column (SYNC_FILTER_ATTRIBUTE)').detail).toBe(
      'new_region is String, not a Two Options (Boolean) column',
    );
  });

  it('an unreachable store fails the store check; Dynamics and Temporal still pass', async () => {
    const result = await doctor(env({ MARKETO_DB_URL: 'postgres://postgres@127.0.0.1:1/x' }));
    expect(result.code).toBe(1);
    expect(withStatus(result, 'FAIL')).toEqual(['store reachable']);
    expect(named(result, 'store reachable').detail).toContain('ECONNREFUSED');
    expect(named(result, 'store schema')).toMatchObject({
      status: 'SKIP',
      detail: 'not checked: the store is not reachable',
    });
  });

  it('a store never migrated fails the schema check, and the doctor migrates nothing', async () => {
    const file = path.join(h.tempDir, 'empty.sqlite');
    fs.writeFileSync(file, '');
    const result = await doctor(env({ MARKETO_DB_URL: `sqlite:${file}` }));
    expect(result.code).toBe(1);
    expect(withStatus(result, 'FAIL')).toEqual(['store schema']);
    const migrations = fs
      .readdirSync(path.join(__dirname, '..', 'store', 'migrations'))
      .map((name) => name.replace(/\.ts$/, ''))
      .sort();
    expect(migrations.length).toBeGreaterThan(0);
    expect(named(result, 'store schema')).toMatchObject({
      detail: `not migrated: ${migrations.length} migration(s) to apply (${migrations.join(', ')})`,
      fix: 'run oppsync migrate (the worker also migrates at start)',
    });
    expect(fs.statSync(file).size).toBe(0);
  });

  it('a SQLite file that is not there fails the store check and is not created', async () => {
    const file = path.join(h.tempDir, 'absent', 'marketo.sqlite');
    const result = await doctor(env({ MARKETO_DB_URL: `sqlite:${file}` }));
    expect(withStatus(result, 'FAIL')).toEqual(['store reachable']);
    expect(named(result, 'store reachable').detail).toContain('no SQLite file');
    expect(fs.existsSync(path.dirname(file))).toBe(false);
  });

  it('a namespace without the search attributes fails that check with the command that registers them, and stays so', async () => {
    const namespace = `doctor-bare-${randomUUID().slice(0, 8)}`;
    await h.client.connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
    await ensureSchedule(new Client({ connection: h.client.connection, namespace }), {
      taskQueue: h.config.temporal.taskQueue,
      every: '5m',
    });
    const result = await doctor(env({ TEMPORAL_NAMESPACE: namespace }));
    expect(result.code).toBe(1);
    expect(withStatus(result, 'FAIL')).toEqual(['search attributes']);
    const check = named(result, 'search attributes');
    expect(check.detail).toContain(`Namespace ${namespace} has no search attributes OppsyncMode (Keyword)`);
    expect(check.fix).toContain(`temporal operator search-attribute create --namespace ${namespace}`);
    const listed = await h.client.connection.operatorService.listSearchAttributes({ namespace });
    expect(Object.keys(listed.customAttributes ?? {})).not.toContain('OppsyncMode');
  });

  it('a namespace that does not exist fails the namespace check; what needs it is not checked', async () => {
    const result = await doctor(env({ TEMPORAL_NAMESPACE: 'doctor-no-such-namespace' }));
    expect(result.code).toBe(1);
    expect(withStatus(result, 'FAIL')).toEqual(['Temporal namespace']);
    expect(named(result, 'Temporal namespace').detail).toBe(
      'no namespace doctor-no-such-namespace on ' + h.config.temporal.address,
    );
    expect(withStatus(result, 'SKIP')).toEqual(['search attributes', 'schedule']);
  });

  it('a missing schedule fails the schedule check with oppsync schedule create as the fix', async () => {
    await h.client.schedule.getHandle(SCHEDULE_ID).delete();
    let result: Doctored;
    try {
      result = await doctor(env());
    } finally {
      await ensureSchedule(h.client, { taskQueue: h.config.temporal.taskQueue, every: '5m' });
    }
    expect(result.code).toBe(1);
    expect(withStatus(result, 'FAIL')).toEqual(['schedule']);
    expect(named(result, 'schedule').fix).toMatch(/^run oppsync schedule create/);
  });

  it('a wrong Marketo client secret fails the Marketo token check, never printing the secret', async () => {
    const secret = 'not-the-marketo-secret-0123456789';
    const result = await doctor(env({ MARKETO_CLIENT_SECRET: secret }), true);
    expect(result.code).toBe(1);
    expect(named(result, 'Marketo token')).toMatchObject({ status: 'FAIL' });
    expect(named(result, 'Marketo token').fix).toContain('MARKETO_CLIENT_SECRET');
    expect(named(result, 'Marketo describe').status).toBe('SKIP');
    expect(`${result.stdout}${result.stderr}`).not.toContain(secret);
  });

  it('a lead lookup field the instance does not have fails that check with how to create it', async () => {
    const result = await doctor(env({ MARKETO_LEAD_LOOKUP_FIELD: 'crmContactGuid' }));
    expect(result.code).toBe(1);
    expect(withStatus(result, 'FAIL')).toEqual(['Marketo lead lookup field']);
    expect(named(result, 'Marketo lead lookup field').detail).toBe(
      'the lead describe has no field crmContactGuid',
    );
  });

  it('native CRM sync on the instance fails the writes check, and nothing is written', async () => {
    h.marketo!.faults.setNativeCrmSync(true);
    try {
      const result = await doctor(env());
      expect(result.code).toBe(1);
      expect(withStatus(result, 'FAIL')).toEqual(['Marketo writes (no native CRM sync)']);
      expect(named(result, 'Marketo writes (no native CRM sync)').detail).toContain('native CRM sync');
    } finally {
      h.marketo!.faults.setNativeCrmSync(false);
    }
    expect(h.marketo!.data.companies()).toEqual([]);
  });

  it('without MARKETO_REST_URL the push is off: one SKIP line for Marketo', async () => {
    const result = await doctor(
      env({ MARKETO_REST_URL: '', MARKETO_CLIENT_ID: '', MARKETO_CLIENT_SECRET: '' }),
    );
    expect(result.code).toBe(0);
    expect(named(result, 'Marketo')).toMatchObject({ status: 'SKIP' });
  });

  it('invalid configuration is the only line, names the variable and exits 2', async () => {
    const result = await doctor(env({ DYNAMICS_CLIENT_ID: 'not-a-guid' }), true);
    expect(result.code).toBe(2);
    expect(result.checks).toEqual([
      {
        status: 'FAIL',
        name: 'configuration',
        detail: 'DYNAMICS_CLIENT_ID: must be the application (client) id, a GUID',
        fix: 'set DYNAMICS_CLIENT_ID in the environment or .env (README, Configuration), then run oppsync doctor again',
      },
    ]);
  });
});
