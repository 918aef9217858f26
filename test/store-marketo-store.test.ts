import type { CompanyRow, LeadRow, RoleRow, SyncErrorRow } from '../rules';
import { MarketoStore, type WritePageInput } from '../store';
import { migrationSource } from '../store/migration-source';
import { countIn, deleteIn, insertRows, upsertRows } from '../store/sql';
import { guid } from './rules-fixtures';
import { opp } from './store-fixtures';
import { BACKENDS, freshStore, type Backend } from './store-backends';

const MIGRATION_NAMES = [
  '20240601000000_initial_schema',
  '20261201000000_opportunity_currency',
  '20261202000000_marketo_ledger',
  '20261203000000_run_written',
];
const T1 = '2024-05-01T10:00:00Z';
const T2 = '2024-05-01T10:05:00Z';

const oppId = (n: number) => guid(n, 'b0b00000');
const contactId = (n: number) => guid(n, 'c0c00000');
const accountId = (n: number) => guid(n, 'acc00000');

function lead(n: number, company: number | null = null): LeadRow {
  return {
    dynamics_contact_id: contactId(n),
    email: `c${n}@example.com`,
    first_name: 'Ada',
    last_name: `Lovelace ${n}`,
    external_company_id: company === null ? null : accountId(company),
  };
}
function company(n: number, name = `Account ${n}`): CompanyRow {
  return { external_company_id: accountId(n), company: name, website: null, industry: 'Consulting' };
}
function role(o: number, c: number, name: string, isPrimary = false): RoleRow {
  return {
    external_opportunity_id: oppId(o),
    dynamics_contact_id: contactId(c),
    role: name,
    is_primary: isPrimary,
  };
}
function page(parts: Partial<WritePageInput>): WritePageInput {
  return {
    opportunities: [],
    roles: [],
    leads: [],
    companies: [],
    skippedIds: [],
    errors: [],
    stakeholderConnections: [],
    deletedOpportunityIds: [],
    ...parts,
  };
}

/** A typical page: opportunity 1 with a customer contact and two stakeholders, opportunity 2 on an account. */
function typicalPage(): WritePageInput {
  return page({
    companies: [company(1), company(2)],
    leads: [lead(1, 1), lead(2), lead(3, 2)],
    opportunities: [
      opp(1, { external_company_id: accountId(1) }),
      opp(2, { external_company_id: accountId(2) }),
    ],
    roles: [
      role(1, 1, 'Potential Customer', true),
      role(1, 2, 'Champion'),
      role(1, 3, 'Decision Maker'),
      role(2, 3, 'Stakeholder'),
    ],
    stakeholderConnections: [
      { connection_id: guid(1, 'cccc0000'), external_opportunity_id: oppId(1) },
      { connection_id: guid(2, 'cccc0000'), external_opportunity_id: oppId(1) },
      { connection_id: guid(3, 'cccc0000'), external_opportunity_id: oppId(2) },
    ],
  });
}

const SPEC_COLUMNS: Record<string, string[]> = {
  companies: ['external_company_id', 'company', 'website', 'industry', 'updated_at'],
  leads: [
    'id',
    'dynamics_contact_id',
    'email',
    'first_name',
    'last_name',
    'external_company_id',
    'updated_at',
    // SPEC section 7: the id Marketo gave the contact's lead.
    'marketo_lead_id',
  ],
  opportunities: [
    'external_opportunity_id',
    'name',
    'external_company_id',
    'description',
    'amount',
    'actual_amount',
    'currency',
    'amount_base',
    'actual_amount_base',
    'close_date',
    'actual_close_date',
    'stage',
    'sales_stage',
    'pipeline_phase',
    'probability',
    'status',
    'is_closed',
    'is_won',
    'custom_fields',
    'external_created_date',
    'last_modified_at',
    'is_deleted',
    'updated_at',
    'last_seen_sync',
  ],
  opportunity_roles: ['external_opportunity_id', 'lead_id', 'role', 'is_primary', 'updated_at'],
  sync_errors: ['entity', 'record_id', 'error', 'payload', 'first_seen_at', 'last_seen_at'],
  sync_state: ['key', 'value', 'updated_at'],
  sync_pending: ['external_opportunity_id', 'reason', 'added_at'],
  stakeholder_connections: ['connection_id', 'external_opportunity_id'],
  // SPEC section 7: what Marketo accepted of each record, and the call budget all workers share.
  marketo_companies: ['external_company_id', 'marketo_id', 'hash', 'rejected_hash', 'updated_at'],
  marketo_leads: ['lookup_value', 'marketo_id', 'hash', 'rejected_hash', 'updated_at'],
  marketo_opportunities: ['external_opportunity_id', 'marketo_guid', 'hash', 'rejected_hash', 'updated_at'],
  marketo_roles: [
    'external_opportunity_id',
    'marketo_lead_id',
    'role',
    'marketo_guid',
    'hash',
    'rejected_hash',
    'updated_at',
  ],
  marketo_budget: ['id', 'blocked_until', 'backoff_ms', 'quota_day', 'quota_used', 'quota_exhausted_day'],
  marketo_calls: ['id', 'started_at', 'finished_at', 'holder'],
};

describe.each(BACKENDS)('Marketo store on $name', (backend: Backend) => {
  let store: MarketoStore;
  let url: string;
  let done: () => Promise<void>;

  beforeEach(async () => {
    ({ store, url, done } = await freshStore(backend));
  });
  afterEach(async () => {
    await done();
  });

  describe('schema', () => {
    it('migrations create exactly the SPEC columns plus the sync bookkeeping', async () => {
      for (const [table, columns] of Object.entries(SPEC_COLUMNS)) {
        const info = await store.knex(table).columnInfo();
        expect([table, Object.keys(info).sort()]).toEqual([table, [...columns].sort()]);
      }
    });

    it('migrating again applies nothing', async () => {
      expect(await store.migrate()).toEqual({ applied: [] });
    });

    it('a current store migrates without the lock, even when a crashed migration still holds it', async () => {
      // A migration killed mid-way leaves is_locked = 1, and knex never frees it; a worker on a current schema
      // has nothing to run, so it must not wait for that lock (it used to give up after 100 tries).
      await store.knex('knex_migrations_lock').update({ is_locked: 1 });
      expect(await store.migrate()).toEqual({ applied: [] });
      expect(await store.knex('knex_migrations_lock').select('*')).toEqual([{ index: 1, is_locked: 1 }]);
    });

    it('two workers migrating the same fresh database at once both succeed, and it is migrated once', async () => {
      const db = await backend.create();
      const opened = await Promise.allSettled([MarketoStore.open(db.url), MarketoStore.open(db.url)]);
      const stores = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
      try {
        expect(opened.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
        const results = await Promise.all(stores.map((s) => s.migrate()));
        expect(results.flatMap((r) => r.applied)).toEqual(MIGRATION_NAMES);
        expect(Object.keys(await stores[0]!.knex('opportunities').columnInfo())).toContain('is_deleted');
        expect(await stores[0]!.knex('knex_migrations_lock').select('*')).toEqual([
          { index: 1, is_locked: 0 },
        ]);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
        await db.dispose();
      }
    });

    it('a store left with two lock rows (two workers that raced through knex) migrates, and keeps one row', async () => {
      const db = await backend.create();
      const raced = await MarketoStore.open(db.url);
      try {
        // What knex's read-then-insert leaves when two processes create the lock table at once (knex/knex#3538):
        // with two rows its lock can never be taken, and every start failed with "already locked".
        await raced.knex.schema.createTable('knex_migrations_lock', (table) => {
          table.increments('index').primary();
          table.integer('is_locked');
        });
        await raced.knex('knex_migrations_lock').insert([{ is_locked: 0 }, { is_locked: 0 }]);
        expect(await raced.migrate()).toEqual({ applied: MIGRATION_NAMES });
        expect(await raced.knex('knex_migrations_lock').select('*')).toEqual([{ index: 1, is_locked: 0 }]);
        expect(await raced.migrate()).toEqual({ applied: [] });
      } finally {
        await raced.close();
        await db.dispose();
      }
    });

    it('the migrations roll back to nothing and forward again', async () => {
      await store.knex.migrate.rollback({ migrationSource }, true);
      expect(await store.knex.schema.hasTable('opportunities')).toBe(false);
      expect(await store.migrate()).toEqual({ applied: MIGRATION_NAMES });
      expect(await store.knex.schema.hasTable('opportunities')).toBe(true);
    });

    it('the currency migration rolls back to the columns before it, keeping the rows, and forward again', async () => {
      await store.writePage(typicalPage(), T1);
      await store.knex.migrate.down({ migrationSource }); // the runs' record of what they wrote, which came after
      await store.knex.migrate.down({ migrationSource }); // the Marketo ledger
      await store.knex.migrate.down({ migrationSource });
      const columns = Object.keys(await store.knex('opportunities').columnInfo());
      expect(columns).toEqual(expect.arrayContaining(['amount', 'actual_amount']));
      expect(columns).not.toEqual(expect.arrayContaining(['currency']));
      expect(columns.filter((c) => c.endsWith('_base'))).toEqual([]);
      const [rows] = await store.knex('opportunities').count<{ n: number | string }[]>({ n: '*' });
      expect(Number(rows?.n)).toBe(2);
      expect(await store.migrate()).toEqual({
        applied: [
          '20261201000000_opportunity_currency',
          '20261202000000_marketo_ledger',
          '20261203000000_run_written',
        ],
      });
      await store.writePage(typicalPage(), T2);
      expect((await store.snapshot()).opportunities.map((o) => o.currency)).toEqual(['EUR', 'EUR']);
    });

    it('opportunity roles are unique per opportunity, lead and role', async () => {
      await store.writePage(typicalPage(), T1);
      const [leadRow] = (await store
        .knex('leads')
        .select('id')
        .where({ dynamics_contact_id: contactId(2) })) as {
        id: number;
      }[];
      // Compared by message, not with rejects.toThrow(): better-sqlite3's native code keeps the error class of
      // the first jest module registry that loaded it, so in later test files its errors are not `Error`s here.
      const outcome = await store
        .knex('opportunity_roles')
        .insert({
          external_opportunity_id: oppId(1),
          lead_id: leadRow?.id,
          role: 'Champion',
          is_primary: false,
          updated_at: T1,
        })
        .then(
          () => 'inserted',
          (error: unknown) => `rejected: ${(error as { message?: string }).message ?? String(error)}`,
        );
      expect(outcome).toMatch(/^rejected: .*(UNIQUE|PRIMARY KEY|duplicate key)/i);
    });
  });

  describe('writePage', () => {
    it('writes companies, leads, opportunities and roles with normalised types', async () => {
      const counts = await store.writePage(typicalPage(), T1);
      expect(counts).toEqual({
        opportunitiesUpserted: 2,
        opportunitiesDeleted: 0,
        rolesUpserted: 4,
        rolesDeleted: 0,
        leadsUpserted: 3,
        companiesUpserted: 2,
        syncErrors: 0,
      });
      const snap = await store.snapshot();
      const expected = typicalPage();
      expect(snap.opportunities).toEqual(expected.opportunities.map((o) => ({ ...o, is_deleted: false })));
      expect(snap.roles).toEqual(expected.roles);
      expect(snap.leads).toEqual(expected.leads);
      expect(snap.companies).toEqual(expected.companies);
      expect(await store.knex('opportunities').distinct('updated_at')).toEqual([{ updated_at: T1 }]);
    });

    it('rewrites a lead or company only when its data changed', async () => {
      await store.writePage(typicalPage(), T1);
      const next = typicalPage();
      next.leads = next.leads.map((l) =>
        l.dynamics_contact_id === contactId(1) ? { ...l, email: 'new@example.com' } : l,
      );
      next.companies = next.companies.map((c) =>
        c.external_company_id === accountId(2) ? { ...c, website: 'https://two.example' } : c,
      );
      await store.writePage(next, T2);
      const leads = (await store
        .knex('leads')
        .select('dynamics_contact_id', 'email', 'updated_at')
        .orderBy('dynamics_contact_id')) as {
        dynamics_contact_id: string;
        email: string;
        updated_at: string;
      }[];
      expect(leads.map((l) => [l.dynamics_contact_id, l.email, l.updated_at])).toEqual([
        [contactId(1), 'new@example.com', T2],
        [contactId(2), 'c2@example.com', T1],
        [contactId(3), 'c3@example.com', T1],
      ]);
      const companies = (await store
        .knex('companies')
        .select('external_company_id', 'website', 'updated_at')
        .orderBy('external_company_id')) as {
        external_company_id: string;
        website: string | null;
        updated_at: string;
      }[];
      expect(companies.map((c) => [c.external_company_id, c.website, c.updated_at])).toEqual([
        [accountId(1), null, T1],
        [accountId(2), 'https://two.example', T2],
      ]);
    });

    it('replaying the same page leaves identical rows and keeps lead ids', async () => {
      await store.writePage(typicalPage(), T1);
      const first = await store.snapshot();
      const ids = await store.knex('leads').select('id', 'dynamics_contact_id').orderBy('id');
      await store.writePage(typicalPage(), T2);
      expect(await store.snapshot()).toEqual(first);
      expect(await store.knex('leads').select('id', 'dynamics_contact_id').orderBy('id')).toEqual(ids);
    });

    it('replaces the role set of a written opportunity: new roles added, missing ones deleted', async () => {
      await store.writePage(typicalPage(), T1);
      // Opportunity 1's customer changed from contact 1 to an account; Champion removed, Influencer added.
      const counts = await store.writePage(
        page({
          companies: [company(1)],
          leads: [lead(3, 2), lead(4)],
          opportunities: [opp(1, { external_company_id: accountId(1) })],
          roles: [role(1, 3, 'Decision Maker'), role(1, 4, 'Influencer')],
        }),
        T2,
      );
      expect(counts.rolesDeleted).toBe(2);
      expect((await store.snapshot()).roles).toEqual([
        role(1, 3, 'Decision Maker'),
        role(1, 4, 'Influencer'),
        role(2, 3, 'Stakeholder'), // opportunity 2 was not in the page: untouched
      ]);
    });

    it('a role that turns primary is updated in place', async () => {
      await store.writePage(
        page({ leads: [lead(1)], opportunities: [opp(1)], roles: [role(1, 1, 'Champion')] }),
        T1,
      );
      await store.writePage(
        page({ leads: [lead(1)], opportunities: [opp(1)], roles: [role(1, 1, 'Champion', true)] }),
        T2,
      );
      expect((await store.snapshot()).roles).toEqual([role(1, 1, 'Champion', true)]);
    });

    it('a deleted opportunity keeps its row with is_deleted and loses its roles and connections', async () => {
      await store.writePage(typicalPage(), T1);
      const counts = await store.writePage(page({ deletedOpportunityIds: [oppId(1), oppId(99)] }), T2);
      expect(counts).toMatchObject({ opportunitiesDeleted: 1, rolesDeleted: 3 });
      const snap = await store.snapshot();
      expect(snap.opportunities.map((o) => [o.external_opportunity_id, o.is_deleted])).toEqual([
        [oppId(1), true],
        [oppId(2), false],
      ]);
      expect(snap.opportunities[0]?.name).toBe('Deal 1');
      expect(snap.roles).toEqual([role(2, 3, 'Stakeholder')]);
      expect(await store.opportunityIdsOfConnections([guid(1, 'cccc0000'), guid(3, 'cccc0000')])).toEqual([
        oppId(2),
      ]);
      // Leads stay: Marketo keeps its people when a deal goes.
      expect(snap.leads).toHaveLength(3);
      // Replaying the delete changes nothing more.
      expect(await store.writePage(page({ deletedOpportunityIds: [oppId(1)] }), T2)).toMatchObject({
        opportunitiesDeleted: 0,
        rolesDeleted: 0,
      });
    });

    it('an opportunity written again after a delete (restored in Dynamics) is live again', async () => {
      await store.writePage(typicalPage(), T1);
      await store.writePage(page({ deletedOpportunityIds: [oppId(2)] }), T1);
      await store.writePage(page({ opportunities: [opp(2)] }), T2);
      expect(
        (await store.snapshot()).opportunities.find((o) => o.external_opportunity_id === oppId(2))
          ?.is_deleted,
      ).toBe(false);
    });

    it('records sync errors by entity and record id, and clears them once the record syncs', async () => {
      const error: SyncErrorRow = {
        entity: 'opportunity',
        record_id: oppId(1),
        error: 'estimatedvalue is not a number',
        payload: '{}',
      };
      const contactError: SyncErrorRow = {
        entity: 'contact',
        record_id: contactId(5),
        error: 'not returned',
        payload: '{}',
      };
      expect((await store.writePage(page({ errors: [error, contactError, error] }), T1)).syncErrors).toBe(2);
      await store.writePage(
        page({ errors: [{ ...error, error: 'modifiedon is not an ISO-8601 timestamp' }] }),
        T2,
      );
      const rows = (await store.knex('sync_errors').select().orderBy('entity')) as Record<string, unknown>[];
      expect(rows.map((r) => [r.entity, r.record_id, r.error, r.first_seen_at, r.last_seen_at])).toEqual([
        ['contact', contactId(5), 'not returned', T1, T1],
        ['opportunity', oppId(1), 'modifiedon is not an ISO-8601 timestamp', T1, T2],
      ]);
      expect(await store.openErrorCount()).toBe(2);

      await store.writePage(
        page({ opportunities: [opp(1)], leads: [lead(5)], roles: [role(1, 5, 'Champion')] }),
        T2,
      );
      expect(await store.openErrorCount()).toBe(0);
    });

    it('a page clears the open errors of exactly the records it wrote, whatever else is open', async () => {
      const opportunityError = (n: number): SyncErrorRow => ({
        entity: 'opportunity',
        record_id: oppId(n),
        error: 'bad',
        payload: '{}',
      });
      const contactError: SyncErrorRow = {
        entity: 'contact',
        record_id: contactId(5),
        error: 'bad',
        payload: '{}',
      };
      await store.recordErrors([opportunityError(1), opportunityError(2), contactError], T1);
      // No account error is open at all, an opportunity error is open for another record, the contact's stays.
      await store.writePage(page({ opportunities: [opp(1)], leads: [lead(6)], companies: [company(3)] }), T2);
      const open = async () =>
        (
          (await store
            .knex('sync_errors')
            .select('entity', 'record_id')
            .orderBy(['entity', 'record_id'])) as unknown[]
        ).map((r) => Object.values(r as object).join(':'));
      expect(await open()).toEqual([`contact:${contactId(5)}`, `opportunity:${oppId(2)}`]);
      await store.writePage(page({ leads: [lead(5)] }), T2);
      expect(await open()).toEqual([`opportunity:${oppId(2)}`]);
    });

    it('countIn and deleteIn work over several statements and only where extra matches', async () => {
      const ids = Array.from({ length: 12_001 }, (_, i) => oppId(i + 1));
      await store.recordErrors(
        ids.map((id) => ({ entity: 'opportunity', record_id: id, error: 'bad', payload: '{}' })),
        T1,
      );
      expect(await countIn(store.knex, 'sync_errors', 'record_id', [...ids, ids[0] as string])).toBe(12_001);
      expect(await deleteIn(store.knex, 'sync_errors', 'record_id', ids, { entity: 'contact' })).toBe(0);
      expect(
        await deleteIn(store.knex, 'sync_errors', 'record_id', ids.slice(1), { entity: 'opportunity' }),
      ).toBe(12_000);
      expect(await countIn(store.knex, 'sync_errors', 'record_id', ids)).toBe(1);
    });

    it('recordErrors upserts on its own', async () => {
      const error: SyncErrorRow = { entity: 'account', record_id: accountId(1), error: 'bad', payload: '{}' };
      await store.recordErrors([error], T1);
      await store.recordErrors([{ ...error, error: 'worse' }], T2);
      expect((await store.snapshot()).syncErrors).toEqual([{ ...error, error: 'worse' }]);
    });

    it('writes 5,000 opportunities with 15,000 roles in one call within the parameter limits', async () => {
      const n = 5_000;
      const leads = Array.from({ length: n }, (_, i) => lead(i + 1, (i % 50) + 1));
      const big = page({
        companies: Array.from({ length: 50 }, (_, i) => company(i + 1)),
        leads,
        opportunities: Array.from({ length: n }, (_, i) =>
          opp(i + 1, { external_company_id: accountId((i % 50) + 1) }),
        ),
        roles: Array.from({ length: n }, (_, i) => [
          role(i + 1, i + 1, 'Potential Customer', true),
          role(i + 1, ((i + 1) % n) + 1, 'Champion'),
          role(i + 1, ((i + 2) % n) + 1, 'Decision Maker'),
        ]).flat(),
        stakeholderConnections: Array.from({ length: n }, (_, i) => ({
          connection_id: guid(i + 1, 'cccc0000'),
          external_opportunity_id: oppId(i + 1),
        })),
        seenSyncId: 'full-1',
      });
      await store.pending.add(
        big.opportunities.map((o) => o.external_opportunity_id),
        'test',
      );
      const counts = await store.writePage(big, T1);
      const again = await store.writePage(
        { ...big, roles: big.roles.filter((r) => r.role !== 'Champion') },
        T2,
      );
      expect(counts).toMatchObject({ opportunitiesUpserted: n, rolesUpserted: 3 * n, leadsUpserted: n });
      expect(again).toMatchObject({ rolesUpserted: 2 * n, rolesDeleted: n });
      const snap = await store.snapshot();
      expect([snap.opportunities.length, snap.roles.length, snap.leads.length]).toEqual([n, 2 * n, n]);
      expect(await store.pending.count()).toBe(0);
    });

    it('insertRows writes plain rows over several statements, a missing value as null', async () => {
      const rows = Array.from({ length: 1_201 }, (_, i) => {
        const row: Record<string, unknown> = {
          ...company(i + 1),
          website: `https://a${i + 1}.example`,
          updated_at: T1,
        };
        if (i % 2 === 1) delete row.website;
        return row;
      });
      await store.knex.transaction((trx) => insertRows(trx, 'companies', rows));
      const stored = (await store.snapshot()).companies;
      expect(stored).toHaveLength(rows.length);
      expect(stored).toEqual(
        expect.arrayContaining([
          { ...company(1), website: 'https://a1.example' },
          { ...company(2), website: null },
          { ...company(1_201), website: 'https://a1201.example' },
        ]),
      );
      // By message, as above: in later test files better-sqlite3's errors are not this registry's `Error`s.
      const again = await store.knex
        .transaction((trx) => insertRows(trx, 'companies', rows.slice(0, 1)))
        .then(
          () => 'inserted',
          (error: unknown) => `rejected: ${(error as { message?: string }).message ?? String(error)}`,
        );
      expect(again).toMatch(/^rejected: .*(UNIQUE|duplicate key)/i);
    });

    it('upsertRows adds constant columns to every row, in its own statements and in the mixed-shape fallback', async () => {
      const uniform = Array.from({ length: 1_201 }, (_, i) => company(i + 1));
      await store.knex.transaction((trx) =>
        upsertRows(trx, 'companies', uniform, ['external_company_id'], { constants: { updated_at: T1 } }),
      );
      // Rows of two shapes (one without website) go through knex's own insert: the constants must reach it too,
      // and a constant replaces a row's own column of that name.
      const { website: _dropped, ...withoutWebsite } = company(2, 'Renamed');
      const mixed = [{ ...company(1), updated_at: 'ignored' }, withoutWebsite];
      await store.knex.transaction((trx) =>
        upsertRows(trx, 'companies', mixed, ['external_company_id'], { constants: { updated_at: T2 } }),
      );
      const stored = await store.knex('companies').select('external_company_id', 'company', 'updated_at');
      const byId = new Map(
        stored.map((row: { external_company_id: string }) => [row.external_company_id, row]),
      );
      expect(byId.size).toBe(1_201);
      expect(byId.get(accountId(1))).toEqual({
        external_company_id: accountId(1),
        company: 'Account 1',
        updated_at: T2,
      });
      expect(byId.get(accountId(2))).toEqual({
        external_company_id: accountId(2),
        company: 'Renamed',
        updated_at: T2,
      });
      expect(byId.get(accountId(1_201))).toMatchObject({ company: 'Account 1201', updated_at: T1 });
    });

    it('a role whose contact is neither in the page nor in the store fails the whole write', async () => {
      await expect(
        store.writePage(page({ opportunities: [opp(1)], roles: [role(1, 1, 'Champion')] }), T1),
      ).rejects.toMatchObject({ name: 'StoreError', code: 'STORE_LEAD_MISSING' });
      expect((await store.snapshot()).opportunities).toEqual([]);
    });
  });

  describe('full sync deletions', () => {
    it('markUnseenDeleted marks only opportunities the sync did not see (written, skipped or errored count as seen)', async () => {
      await store.writePage(
        page({
          leads: [lead(1)],
          opportunities: [opp(1), opp(2), opp(3), opp(4)],
          roles: [role(3, 1, 'Champion'), role(4, 1, 'Champion')],
          seenSyncId: 'full-1',
        }),
        T1,
      );
      await store.writePage(
        page({
          leads: [lead(1)],
          opportunities: [opp(1)],
          skippedIds: [oppId(2)],
          errors: [{ entity: 'opportunity', record_id: oppId(3), error: 'bad', payload: '{}' }],
          seenSyncId: 'full-2',
        }),
        T2,
      );
      expect(await store.markUnseenDeleted('full-2', T2)).toEqual({
        opportunitiesDeleted: 1,
        rolesDeleted: 1,
      });
      const snap = await store.snapshot();
      expect(snap.opportunities.map((o) => [o.external_opportunity_id, o.is_deleted])).toEqual([
        [oppId(1), false],
        [oppId(2), false],
        [oppId(3), false],
        [oppId(4), true],
      ]);
      expect(snap.roles).toEqual([role(3, 1, 'Champion')]);
      expect(await store.markUnseenDeleted('full-2', T2)).toEqual({
        opportunitiesDeleted: 0,
        rolesDeleted: 0,
      });
    });

    it('an incremental page (no seenSyncId) does not count as seen by a full sync', async () => {
      await store.writePage(page({ opportunities: [opp(1)] }), T1);
      expect(await store.markUnseenDeleted('full-1', T2)).toEqual({
        opportunitiesDeleted: 1,
        rolesDeleted: 0,
      });
    });
  });

  describe('incremental bookkeeping', () => {
    it('pending opportunities come out oldest first, stay until written, and keep their place when re-added', async () => {
      await store.pending.add([oppId(3), oppId(1)], 'connection changed');
      await new Promise((resolve) => setTimeout(resolve, 5));
      await store.pending.add([oppId(2), oppId(3)], 'contact changed');
      expect(await store.pending.take(10)).toEqual([oppId(1), oppId(3), oppId(2)]);
      expect(await store.pending.take(2)).toEqual([oppId(1), oppId(3)]);
      expect(await store.pending.count()).toBe(3);
      await store.writePage(page({ opportunities: [opp(1)], skippedIds: [oppId(3)] }), T1);
      expect(await store.pending.take(10)).toEqual([oppId(2)]);
      await store.pending.clear();
      expect(await store.pending.count()).toBe(0);
    });

    it('state keys are set, read, overwritten and removed', async () => {
      expect(await store.state.get('deltaLink:opportunities')).toBeUndefined();
      await store.state.set({ 'deltaLink:opportunities': 'https://x/?$deltatoken=1', watermark: '2024' });
      await store.state.set({ 'deltaLink:opportunities': 'https://x/?$deltatoken=2', watermark: null });
      expect(await store.state.get('deltaLink:opportunities')).toBe('https://x/?$deltatoken=2');
      expect(await store.state.get('watermark')).toBeUndefined();
    });

    it('a time set with setLater only ever moves later', async () => {
      await store.state.setLater('hold', '2026-12-02T10:00:05.000Z');
      await store.state.setLater('hold', '2026-12-02T10:00:03.000Z');
      expect(await store.state.get('hold')).toBe('2026-12-02T10:00:05.000Z');
      await store.state.setLater('hold', '2026-12-02T10:00:07.500Z');
      expect(await store.state.get('hold')).toBe('2026-12-02T10:00:07.500Z');
    });

    it('finds opportunities by customer contact (primary roles only) and by stakeholder connection', async () => {
      await store.writePage(typicalPage(), T1);
      expect(
        await store.opportunityIdsWithCustomerContacts([contactId(1), contactId(2), contactId(3)]),
      ).toEqual([oppId(1)]);
      expect(await store.opportunityIdsOfConnections([guid(3, 'cccc0000'), guid(9, 'cccc0000')])).toEqual([
        oppId(2),
      ]);
      expect(await store.knownLeadContactIds([contactId(2), contactId(9)])).toEqual([contactId(2)]);
      expect(await store.knownCompanyIds([accountId(9), accountId(1)])).toEqual([accountId(1)]);
    });

    it('the connections of a re-written opportunity are replaced by the new set', async () => {
      await store.writePage(typicalPage(), T1);
      await store.writePage(
        page({
          leads: [lead(2)],
          opportunities: [opp(1)],
          roles: [role(1, 2, 'Champion')],
          stakeholderConnections: [{ connection_id: guid(2, 'cccc0000'), external_opportunity_id: oppId(1) }],
        }),
        T2,
      );
      expect(await store.opportunityIdsOfConnections([guid(1, 'cccc0000')])).toEqual([]);
      expect(await store.opportunityIdsOfConnections([guid(2, 'cccc0000')])).toEqual([oppId(1)]);
    });

    it('refreshLeadsAndCompanies updates known leads, adds their new parent account, and ignores strangers', async () => {
      await store.writePage(typicalPage(), T1);
      const result = await store.refreshLeadsAndCompanies(
        [{ ...lead(2, 7), email: 'new@example.com' }, lead(8, 9)],
        [company(7, 'New parent'), company(9, 'Stranger'), company(2, 'Renamed')],
        T2,
      );
      expect(result).toEqual({ leadsUpdated: 1, companiesUpserted: 2 });
      const snap = await store.snapshot();
      expect(snap.leads.find((l) => l.dynamics_contact_id === contactId(2))).toEqual({
        ...lead(2, 7),
        email: 'new@example.com',
      });
      expect(snap.leads.map((l) => l.dynamics_contact_id)).not.toContain(contactId(8));
      expect(snap.companies.map((c) => [c.external_company_id, c.company])).toEqual([
        [accountId(1), 'Account 1'],
        [accountId(2), 'Renamed'],
        [accountId(7), 'New parent'],
      ]);
    });
  });

  describe("a run's record of what it wrote", () => {
    it('is written with the page, found while the store holds the row, and goes when its run ends', async () => {
      const written = (syncId: string) => ({
        syncId,
        contacts: [
          [contactId(1), accountId(1)],
          [contactId(2), null],
          [contactId(3), accountId(2)],
        ] as [string, string | null][],
        accounts: [accountId(1), accountId(2)],
      });
      await store.writePage({ ...typicalPage(), runWritten: written('run-a') }, T1);
      await store.writePage({ ...typicalPage(), runWritten: written('run-b') }, T1);
      const asked = [contactId(1), contactId(2), contactId(3), contactId(4)];
      expect(await store.runWritten.contacts('run-a', asked)).toEqual(
        new Map([
          [contactId(1), accountId(1)],
          [contactId(2), null],
          [contactId(3), accountId(2)],
        ]),
      );
      expect(await store.runWritten.accounts('run-a', [accountId(1), accountId(3)])).toEqual(
        new Set([accountId(1)]),
      );
      expect((await store.runWritten.contacts('run-c', asked)).size).toBe(0);
      // A lead deleted by hand is not taken as written: the next page reads it again.
      await store.knex('opportunity_roles').delete();
      await store
        .knex('leads')
        .where({ dynamics_contact_id: contactId(2) })
        .delete();
      expect([...(await store.runWritten.contacts('run-a', asked)).keys()].sort()).toEqual([
        contactId(1),
        contactId(3),
      ]);
      await store.runWritten.end('run-a');
      expect([await store.runWritten.count('run-a'), await store.runWritten.count('run-b')]).toEqual([0, 5]);
      await store.runWritten.clear();
      expect(await store.runWritten.count('run-b')).toBe(0);
    });

    it('a page written again in its run (a retry) records the same rows once', async () => {
      const runWritten = {
        syncId: 'run-a',
        contacts: [[contactId(1), accountId(1)]] as [string, string][],
        accounts: [],
      };
      await store.writePage({ ...typicalPage(), runWritten }, T1);
      await store.writePage({ ...typicalPage(), runWritten }, T2);
      expect(await store.runWritten.count('run-a')).toBe(1);
    });
  });

  it('keeps data across close and reopen', async () => {
    await store.writePage(typicalPage(), T1);
    const before = await store.snapshot();
    await store.close();
    const reopened = await MarketoStore.open(url);
    try {
      expect(await reopened.snapshot()).toEqual(before);
    } finally {
      await reopened.close();
    }
  });
});
