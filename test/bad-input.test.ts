import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { NativeConnection } from '@temporalio/worker';
import pino from 'pino';
import { runSync, type SyncOutcome } from '../client';
import { loadConfig, type AppConfig } from '../config';
import type { DynamicsAuthConfig } from '../dynamics';
import { DEMO, EMULATOR_DEFAULTS, type Lookup } from '@oppsync/dataverse-emulator';
import type { RuleOptions } from '../rules';
import type { MarketoStore } from '../store';
import { createSyncWorker, type SyncWorker } from '../worker';
import { ExpectedStore, syncAndExpectExactStore } from './support/expected';
import { rawHistories, secretsFound } from './support/faults';
import { Harness, workflowBundle } from './support/harness';

const OPTIONS: RuleOptions = { customFields: ['new_region'], filterAttribute: 'new_synctomkto' };
const contact = (id: string): Lookup => ({ id, logicalName: 'contact' });
const c = DEMO.contacts;
// Non-Latin text with astral characters (surrogate pairs) placed across the 255 and 32,000 unit limits.
const LONG_NAME = 'Сделка 商机 صفقة 🚀'.repeat(8_000);
const LONG_DESCRIPTION = `${'Ω'.repeat(31_999)}😀${'ü'.repeat(500_000)}`;

/**
 * Bad input from Dynamics and bad setup: every unmappable record is quarantined in sync_errors with its
 * reason while the rest syncs; a bad page is read again; an expired change token falls back to a full
 * resync; a bad column or bad credentials stop the run at once with a clear message.
 */
describe('bad input and bad setup', () => {
  let h: Harness;
  let marketo: MarketoStore;
  let connection: NativeConnection;
  const expected = new ExpectedStore(OPTIONS);
  const logs: string[] = [];
  const workers: { worker: SyncWorker; running: Promise<void> }[] = [];
  const wrongSecret = `wrong-${randomBytes(18).toString('base64url')}`;

  /** An in-process worker whose logs (debug level, no redaction of its own) are kept for the secrets check. */
  async function startWorker(config: AppConfig, dynamics: DynamicsAuthConfig): Promise<void> {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString('utf8'));
        done();
      },
    });
    const worker = await createSyncWorker({
      config,
      dynamics,
      logger: pino({ level: 'debug' }, sink),
      connection,
      workflowBundle: await workflowBundle(),
    });
    workers.push({ worker, running: worker.run() });
  }

  /** A worker with other settings on its own task queue (same store, same organisation). */
  async function misconfiguredRun(
    env: Record<string, string>,
    dynamics: DynamicsAuthConfig,
  ): Promise<{ outcome: SyncOutcome; activityAttempts: number[] }> {
    const taskQueue = `misconfigured-${randomUUID()}`;
    const config = loadConfig({
      MARKETO_DB_URL: h.config.storeUrl,
      TEMPORAL_ADDRESS: h.devServer.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      SYNC_PAGE_SIZE: '7',
      ...env,
    });
    await startWorker(config, dynamics);
    const outcome = await runSync(h.client, { taskQueue, full: true });
    // The attempt of each sync activity as history records it (retries show as a higher attempt on one event);
    // the failed run then gives its run lock up (releaseRunLock), which is not part of the sync's steps.
    const history = await h.client.workflow.getHandle(outcome.summary.workflowId).fetchHistory();
    const typeOf = new Map(
      (history.events ?? []).flatMap((event) =>
        event.activityTaskScheduledEventAttributes
          ? [[Number(event.eventId), event.activityTaskScheduledEventAttributes.activityType?.name ?? '']]
          : [],
      ),
    );
    const started = (history.events ?? []).flatMap((event) => {
      const attributes = event.activityTaskStartedEventAttributes;
      return attributes
        ? [{ type: typeOf.get(Number(attributes.scheduledEventId)), attempt: attributes.attempt ?? 0 }]
        : [];
    });
    expect(started[started.length - 1]).toEqual({ type: 'releaseRunLock', attempt: 1 });
    const activityAttempts = started.filter((a) => a.type !== 'releaseRunLock').map((a) => a.attempt);
    return { outcome, activityAttempts };
  }

  beforeAll(async () => {
    h = await Harness.start({
      store: 'sqlite',
      env: { SYNC_OPPORTUNITY_FIELDS: 'new_region', SYNC_FILTER_ATTRIBUTE: 'new_synctomkto' },
    });
    connection = await NativeConnection.connect({ address: h.devServer.address });
    await startWorker(h.config, h.dynamicsAuth);
    marketo = await h.openStore();
  });

  afterAll(async () => {
    for (const { worker, running } of workers) {
      worker.shutdown();
      await running;
    }
    await connection?.close();
    await marketo?.close();
    await h?.close();
  });

  async function syncExactly(full = false): Promise<SyncOutcome> {
    return (await syncAndExpectExactStore(h, marketo, expected, OPTIONS, full)).outcome;
  }

  function opportunity(name: string, extra: Record<string, unknown> = {}): string {
    return h.emulator.data.create('opportunity', {
      name,
      customerid: contact(c.nancy),
      estimatedvalue: 1_000,
      statecode: 0,
      statuscode: 1,
      new_region: 'EMEA',
      ...extra,
    });
  }

  it('quarantines each unmappable record with its reason and writes every other one', async () => {
    const bad = {
      malformedCustomer: opportunity('customer GUID malformed', { customerid: contact('not-a-guid') }),
      unknownType: opportunity('customer of unknown type', {
        customerid: { id: randomUUID(), logicalName: 'lead' },
      }),
      missingKey: opportunity('served without its key'),
      malformedKey: opportunity('served with a malformed key'),
      badNumber: opportunity('amount that is not a number'),
    };
    h.emulator.faults.serveColumns('opportunity', bad.missingKey, { opportunityid: undefined });
    h.emulator.faults.serveColumns('opportunity', bad.malformedKey, { opportunityid: '{1234-not-a-guid}' });
    h.emulator.faults.serveColumns('opportunity', bad.badNumber, { estimatedvalue: 'a lot' });
    const longOne = opportunity(LONG_NAME, { description: LONG_DESCRIPTION });
    const stakeholder = h.emulator.data.connect(
      { id: longOne, logicalName: 'opportunity' },
      contact(c.maria),
      h.emulator.data.roleId('Champion'),
    );
    h.emulator.faults.serveColumns('connection', stakeholder, { _record2roleid_value: 'role?' });
    const unnamed = h.emulator.data.create('contact', { firstname: 'Zoë', lastname: 'Łukasiewicz-กขค' });
    const good = opportunity('a good one among bad ones', { customerid: contact(unnamed) });
    h.emulator.faults.serveColumns('contact', unnamed, { emailaddress1: { not: 'text' } });

    const outcome = await syncExactly(true);
    const snapshot = await marketo.snapshot();
    const errors = snapshot.syncErrors;
    const reason = (id: string): string | undefined => errors.find((e) => e.record_id === id)?.error;
    expect(reason(bad.malformedCustomer)).toMatch(/_customerid_value is not a GUID/);
    expect(reason(bad.unknownType)).toMatch(/unknown customer type "lead"/);
    expect(reason('(missing)')).toMatch(/opportunityid is missing/);
    expect(reason('{1234-not-a-guid}')).toMatch(/opportunityid is not a GUID/);
    expect(reason(bad.badNumber)).toMatch(/estimatedvalue is not a number/);
    expect(reason(stakeholder)).toMatch(/_record2roleid_value is not a GUID/);
    expect(reason(unnamed)).toMatch(/emailaddress1 is not text/);
    expect(outcome.summary.syncErrors).toBeGreaterThanOrEqual(7);

    const byId = new Map(snapshot.opportunities.map((o) => [o.external_opportunity_id, o]));
    for (const id of Object.values(bad)) expect(byId.has(id)).toBe(false);
    // The good one is written without the contact it could not map: no role, no company.
    expect(byId.get(good)?.name).toBe('a good one among bad ones');
    const long = byId.get(longOne);
    expect(long?.name).toBe(LONG_NAME.slice(0, 255));
    expect(long?.description?.length).toBe(31_999);
    expect(long?.description).toBe('Ω'.repeat(31_999));
    expect(snapshot.opportunities.length).toBeGreaterThan(10);
    process.stdout.write(`records quarantined: ${errors.length}\n`);
  });

  it('a page of invalid JSON is read again and the run completes exactly', async () => {
    h.emulator.data.update('opportunity', DEMO.opportunities.contosoLaptops, { name: 'after a bad page' });
    const before = h.emulator.stats.corruptedResponses;
    h.emulator.faults.corruptNextResponse('opportunities');
    await syncExactly();
    expect(h.emulator.stats.corruptedResponses).toBe(before + 1);
  });

  it('an expired change-tracking token makes the run a full resync on its own', async () => {
    h.emulator.data.update('opportunity', DEMO.opportunities.contosoLaptops, { name: 'after expiry' });
    const before = h.emulator.stats.expiredChangeTokenRejections;
    h.emulator.faults.expireChangeTokens();
    const outcome = await syncExactly();
    expect(h.emulator.stats.expiredChangeTokenRejections).toBeGreaterThan(before);
    expect(outcome.summary.mode).toBe('full');
  });

  it('an unknown selected column stops the run at once, naming the column', async () => {
    const { outcome, activityAttempts } = await misconfiguredRun(
      { SYNC_OPPORTUNITY_FIELDS: 'new_nosuchcolumn' },
      h.dynamicsAuth,
    );
    expect(outcome.summary.status).toBe('FAILED');
    expect(outcome.error).toMatch(/Unknown column 'new_nosuchcolumn'/);
    // Stopped at once: beginSync, then the first page, each tried once and not retried.
    expect(activityAttempts).toEqual([1, 1]);
  });

  it('wrong credentials stop the run at once, and the message does not carry the secret', async () => {
    const { outcome, activityAttempts } = await misconfiguredRun(
      {},
      { ...h.dynamicsAuth, clientSecret: wrongSecret },
    );
    expect(outcome.summary.status).toBe('FAILED');
    expect(outcome.error).toMatch(/credential|secret|AADSTS7000215/i);
    expect(outcome.error).not.toContain(wrongSecret);
    // Stopped at once: beginSync's first request fails and is not retried.
    expect(activityAttempts).toEqual([1]);
  });

  it('no history and no log holds a client secret, the password or an issued access token', async () => {
    const secrets = [
      h.dynamicsAuth.clientSecret ?? '',
      wrongSecret,
      EMULATOR_DEFAULTS.user.password,
      ...h.emulator.stats.tokensIssued,
    ];
    expect(h.emulator.stats.tokensIssued.length).toBeGreaterThan(0);
    expect(logs.length).toBeGreaterThan(10);
    const histories = await rawHistories(h.client);
    expect(histories.length).toBeGreaterThanOrEqual(5);
    const found = secretsFound([...logs, ...histories], secrets);
    expect(found).toEqual([]);
    process.stdout.write(`secrets found in ${logs.length} log lines and ${histories.length} histories: 0\n`);
  });
});
