import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { DEMO, type Lookup } from '@oppsync/dataverse-emulator';
import type { RuleOptions } from '../rules';
import type { MarketoStore, StoreSnapshot } from '../store';
import { ExpectedStore, syncAndExpectExactStore } from './support/expected';
import { dynamicsEnv } from './support/faults';
import { Harness } from './support/harness';
import { expectedMarketo, expectExactMarketo, marketoContent } from './support/marketo-expected';

const OPTIONS: RuleOptions = { customFields: ['new_region'] };
// This instance does not describe `probability`: the push leaves it out.
const CONTENT = { omitOpportunityFields: ['probability'] };
const BIN = path.join(__dirname, '..', 'bin', 'oppsync.js');
const contact = (id: string): Lookup => ({ id, logicalName: 'contact' });
const opportunity = (id: string): Lookup => ({ id, logicalName: 'opportunity' });
const account = (id: string): Lookup => ({ id, logicalName: 'account' });

/**
 * SPEC section 7 against the Marketo emulator, with leads by email: rule 5's shared and missing emails, skipped
 * records, the daily quota, expiring tokens, transient failures and native CRM sync.
 */
describe('the Marketo push', () => {
  let h: Harness;
  let store: MarketoStore;
  const expected = new ExpectedStore(OPTIONS);

  beforeAll(async () => {
    h = await Harness.start({
      store: 'sqlite',
      marketo: {
        opportunityFields: [{ name: 'region', dataType: 'string', length: 255 }],
        omitOpportunityFields: CONTENT.omitOpportunityFields,
      },
      env: {
        MARKETO_LEAD_LOOKUP_FIELD: 'email',
        SYNC_OPPORTUNITY_FIELDS: 'new_region',
        MARKETO_OPPORTUNITY_FIELD_MAP: 'new_region:region',
      },
    });
    await h.startWorker();
    store = await h.openStore();
    await sync(true);
  });

  afterAll(async () => {
    await store?.close();
    await h?.close();
  });

  /** One run: the store exact against the rules, then Marketo exact against the store. */
  async function sync(full = false): Promise<StoreSnapshot> {
    const { snapshot } = await syncAndExpectExactStore(h, store, expected, OPTIONS, full);
    await expectExactMarketo(h.marketo!, snapshot, store, 'email', CONTENT);
    return snapshot;
  }

  const errorsOf = async (entity: string) =>
    (await store.snapshot()).syncErrors.filter((e) => e.entity === entity);

  it('a mapped custom column reaches its Marketo field; an undescribed standard field is left out; long text is cut', async () => {
    const long = h.emulator.data.create('opportunity', {
      name: 'Long story',
      description: `${'Ω'.repeat(1999)}😀 and more`,
      customerid: account(DEMO.accounts.litware),
      statecode: 0,
      statuscode: 1,
      new_region: 'APAC',
    });
    await sync();
    const held = h.marketo!.data.opportunities();
    const region = new Map(
      h.emulator.data.list('opportunity').map((row) => [row.opportunityid, row.new_region ?? null]),
    );
    expect(held.filter((o) => o.region !== region.get(o.externalOpportunityId))).toEqual([]);
    expect(held.filter((o) => o.region === 'APAC').map((o) => o.externalOpportunityId)).toContain(long);
    expect(held.filter((o) => 'probability' in o)).toEqual([]);
    // 2,000 UTF-16 code units at most, never half an emoji.
    expect(held.find((o) => o.externalOpportunityId === long)?.description).toBe('Ω'.repeat(1999));
  });

  it('a batch stays under 1 MB: 300 large opportunities go in calls of fewer records, none refused', async () => {
    const before = h.marketo!.stats.log.length;
    // 2,000 two-byte characters a description: 300 such records would be about 1.2 MB in one call.
    for (let i = 0; i < 300; i++)
      h.emulator.data.create('opportunity', {
        name: `Large ${i}`,
        description: 'Ω'.repeat(2000),
        customerid: account(DEMO.accounts.litware),
        statecode: 0,
        statuscode: 1,
      });
    await sync();
    const writes = h
      .marketo!.stats.log.slice(before)
      .filter((call) => call.path === '/rest/v1/opportunities.json');
    expect(writes.length).toBeGreaterThanOrEqual(2);
    expect(writes.every((call) => call.bytes <= 1_048_576 && call.httpStatus === 200)).toBe(true);
    expect(writes.reduce((sum, call) => sum + call.records, 0)).toBe(300);
  });

  it('contacts that share an email are one lead with all their roles; a contact without one waits, saying why', async () => {
    const twin = h.emulator.data.create('contact', {
      firstname: 'Maria',
      lastname: 'Campbell-Twin',
      emailaddress1: 'maria.campbell@contoso.com',
      parentcustomerid: account(DEMO.accounts.contoso),
    });
    const nameless = h.emulator.data.create('contact', { firstname: 'No', lastname: 'Email' });
    const target = DEMO.opportunities.contosoLaptops;
    h.emulator.data.connect(opportunity(target), contact(twin), h.emulator.data.roleId('Champion'));
    h.emulator.data.connect(opportunity(target), contact(nameless), h.emulator.data.roleId('Influencer'));
    await sync();
    const leads = h.marketo!.data.leads().filter((lead) => lead.email === 'maria.campbell@contoso.com');
    expect(leads).toHaveLength(1);
    const roles = h.marketo!.data.roles().filter((role) => role.externalOpportunityId === target);
    expect(roles.filter((role) => role.leadId === leads[0]?.id).map((role) => role.role)).toContain(
      'Champion',
    );
    expect(h.marketo!.data.leads().some((lead) => lead.lastName === 'Email')).toBe(false);
    const [missing] = await errorsOf('marketo:lead');
    expect(missing?.record_id).toBe(nameless);
    expect(missing?.error).toContain('MARKETO_LEAD_LOOKUP_FIELD');
    // Given an email, the contact syncs at the next run and its error closes.
    h.emulator.data.update('contact', nameless, { emailaddress1: 'no.email@litwareinc.com' });
    await sync();
    expect(await errorsOf('marketo:lead')).toEqual([]);
    expect(h.marketo!.data.leads().some((lead) => lead.email === 'no.email@litwareinc.com')).toBe(true);
  });

  it('a record Marketo skips is a sync error with its code, the rest of its batch stands, and its roles wait', async () => {
    const skipped = h.emulator.data.create('opportunity', {
      name: 'Refused by Marketo',
      customerid: contact(DEMO.contacts.paul),
      statecode: 0,
      statuscode: 1,
    });
    const accepted = h.emulator.data.create('opportunity', {
      name: 'Accepted by Marketo',
      customerid: contact(DEMO.contacts.jim),
      statecode: 0,
      statuscode: 1,
    });
    h.marketo!.faults.skipRecords('opportunity', (record) =>
      record.name === 'Refused by Marketo' ? { code: '1003', message: 'Invalid data' } : undefined,
    );
    const { snapshot } = await syncAndExpectExactStore(h, store, expected, OPTIONS);
    const held = marketoContent(h.marketo!, 'email', CONTENT);
    const foretold = await expectedMarketo(snapshot, store, 'email', CONTENT);
    // Marketo holds all the store foretells but the refused opportunity and its primary role.
    expect(held.opportunities.map((o) => o.externalOpportunityId)).toContain(accepted);
    expect(held.opportunities).toEqual(
      foretold.opportunities.filter((o) => o.externalOpportunityId !== skipped),
    );
    expect(held.roles).toEqual(foretold.roles.filter((r) => r.externalOpportunityId !== skipped));
    expect(await errorsOf('marketo:opportunity')).toEqual([
      expect.objectContaining({ record_id: skipped, error: 'Marketo 1003 Invalid data' }),
    ]);
    // An unchanged refused record is not sent again at every run.
    const calls = h.marketo!.stats.calls;
    await syncAndExpectExactStore(h, store, expected, OPTIONS);
    expect(h.marketo!.stats.calls).toBe(calls);
    // Accepted once it changes: it and its role arrive, the error closes.
    h.marketo!.faults.skipRecords('opportunity', undefined);
    h.emulator.data.update('opportunity', skipped, { name: 'Accepted after all' });
    await sync();
    expect(await errorsOf('marketo:opportunity')).toEqual([]);
  });

  it("Marketo's daily quota (607) pauses the push; the run completes and says so, and after the reset the next run finishes it", async () => {
    h.emulator.data.update('account', DEMO.accounts.fabrikam, { name: 'Fabrikam Holdings' });
    h.emulator.data.update('contact', DEMO.contacts.paul, { lastname: 'Cannon-Smith' });
    h.emulator.data.update('opportunity', DEMO.opportunities.contosoLaptops, { name: 'Laptops, phase 2' });
    // Room for one call: the companies go, the leads meet 607.
    h.marketo!.faults.resetQuota();
    h.marketo!.faults.setLimits({ dailyQuota: 1 });
    const paused = await syncAndExpectExactStore(h, store, expected, OPTIONS);
    expect(paused.outcome.summary.marketo).toMatchObject({ paused: true, calls: 1 });
    expect(h.marketo!.stats.log.some((call) => call.code === '607')).toBe(true);
    expect(
      h.marketo!.data.companies().find((c) => c.externalCompanyId === DEMO.accounts.fabrikam)?.company,
    ).toBe('Fabrikam Holdings');
    expect(h.marketo!.data.leads().some((lead) => lead.lastName === 'Cannon-Smith')).toBe(false);
    const status = await oppsync(['status', '--json']);
    expect(status.code).toBe(0);
    const shown = JSON.parse(status.stdout) as {
      marketo: { paused: boolean; pending: Record<string, { update: number }> };
    };
    expect(shown.marketo.paused).toBe(true);
    expect(shown.marketo.pending.leads?.update).toBe(1);
    expect(shown.marketo.pending.opportunities?.update).toBe(1);
    // A new day at Marketo: the next run, with nothing new in Dynamics, sends what waited.
    h.marketo!.faults.resetQuota();
    h.marketo!.faults.setLimits({ dailyQuota: 50_000 });
    const after = await syncAndExpectExactStore(h, store, expected, OPTIONS);
    expect(after.outcome.summary.marketo).toMatchObject({ paused: false, accepted: 2 });
    await expectExactMarketo(h.marketo!, after.snapshot, store, 'email', CONTENT);
  });

  it('tokens that expire every two seconds are renewed on 602 and the call is repeated once', async () => {
    h.marketo!.faults.setTokenLifetime(2);
    h.marketo!.faults.latencyMs = 1_200;
    h.marketo!.faults.expireTokens();
    const tokens = h.marketo!.stats.tokenRequests;
    for (const [id, name] of [
      [DEMO.accounts.contoso, 'Contoso Group'],
      [DEMO.accounts.northwind, 'Northwind Trading'],
    ] as const)
      h.emulator.data.update('account', id, { name });
    h.emulator.data.update('contact', DEMO.contacts.maria, { lastname: 'Campbell-Ruiz' });
    h.emulator.data.update('opportunity', DEMO.opportunities.contosoLaptops, { name: 'Laptops, phase 3' });
    await sync();
    expect(h.marketo!.stats.tokenRequests).toBeGreaterThanOrEqual(tokens + 2);
    expect(h.marketo!.stats.log.some((call) => call.code === '602')).toBe(true);
    h.marketo!.faults.latencyMs = 0;
    h.marketo!.faults.setTokenLifetime(3600);
  });

  it('a transient 611 or 502 is retried and the push completes', async () => {
    h.emulator.data.update('opportunity', DEMO.opportunities.contosoLaptops, { name: 'Laptops, phase 4' });
    h.marketo!.faults.failNext(1, { code: '611' });
    await sync();
    h.emulator.data.update('opportunity', DEMO.opportunities.contosoLaptops, { name: 'Laptops, phase 5' });
    h.marketo!.faults.failNext(1, { httpStatus: 502 });
    await sync();
    const codes = h.marketo!.stats.log.map((call) => call.code ?? String(call.httpStatus));
    expect(codes).toEqual(expect.arrayContaining(['611', '502']));
  });

  it('native CRM sync on the instance fails the run at once (exit 1) with a message that names it; the mirror is written', async () => {
    h.marketo!.faults.setNativeCrmSync(true);
    h.emulator.data.update('opportunity', DEMO.opportunities.contosoLaptops, { name: 'Laptops, phase 6' });
    const started = Date.now();
    const result = await oppsync(['sync', '--json']);
    expect(result.code).toBe(1);
    expect(`${result.stdout}${result.stderr}`).toContain('native CRM sync');
    // Not retried for minutes: a permanent failure.
    expect(Date.now() - started).toBeLessThan(30_000);
    expect((await store.snapshot()).opportunities.find((o) => o.name === 'Laptops, phase 6')).toBeDefined();
    h.marketo!.faults.setNativeCrmSync(false);
    await sync();
  });

  it("Marketo's 603 (access denied) fails the run at once, saying which permissions the API user needs", async () => {
    h.marketo!.faults.denyAccess(true);
    h.emulator.data.update('opportunity', DEMO.opportunities.contosoLaptops, { name: 'Laptops, phase 7' });
    const started = Date.now();
    const outcome = await h.sync();
    expect(outcome.summary.status).toBe('FAILED');
    expect(outcome.error).toContain('Marketo 603');
    expect(outcome.error).toContain('Read-Write Lead, Company and Opportunity');
    expect(Date.now() - started).toBeLessThan(30_000);
    h.marketo!.faults.denyAccess(false);
    await sync();
  });

  async function oppsync(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = {
      PATH: process.env.PATH ?? '',
      ...dynamicsEnv(h),
      TEMPORAL_ADDRESS: h.config.temporal.address,
      TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
      MARKETO_DB_URL: h.config.storeUrl,
      SYNC_OPPORTUNITY_FIELDS: 'new_region',
      MARKETO_OPPORTUNITY_FIELD_MAP: 'new_region:region',
      LOG_LEVEL: 'warn',
    };
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { env });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }
});
