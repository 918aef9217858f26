import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LeadRow, OpportunityRow, RoleRow } from '../rules';
import { MarketoStore, type WritePageInput } from '../store';
import { PageWriterThread, WRITER_OUT_OF_MEMORY } from '../store/page-writer-thread';
import { guid } from './rules-fixtures';
import { opp } from './store-fixtures';

const NOW = '2024-05-01T10:00:00Z';

function opportunity(n: number): OpportunityRow {
  return opp(n, { external_company_id: guid(n % 7, 'acc00000'), amount: n * 10.5, probability: n % 100 });
}

function lead(n: number): LeadRow {
  return {
    dynamics_contact_id: guid(n, 'c0c00000'),
    email: `c${n}@example.com`,
    first_name: 'Ada',
    last_name: `Lovelace ${n}`,
    external_company_id: guid(n % 7, 'acc00000'),
  };
}

/** `count` opportunities, each with a customer contact and a stakeholder shared with its neighbour. */
function generatedPage(count: number): WritePageInput {
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  const roles: RoleRow[] = ids.flatMap((n) => [
    {
      external_opportunity_id: guid(n, 'b0b00000'),
      dynamics_contact_id: guid(n, 'c0c00000'),
      role: 'Potential Customer',
      is_primary: true,
    },
    {
      external_opportunity_id: guid(n, 'b0b00000'),
      dynamics_contact_id: guid(n + 1, 'c0c00000'),
      role: 'Champion',
      is_primary: false,
    },
  ]);
  return {
    opportunities: ids.map(opportunity),
    leads: [...ids, count + 1].map(lead),
    companies: Array.from({ length: 7 }, (_, i) => ({
      external_company_id: guid(i, 'acc00000'),
      company: `Account ${i}`,
      website: null,
      industry: 'Consulting',
    })),
    roles,
    skippedIds: [],
    errors: [],
    stakeholderConnections: ids.map((n) => ({
      connection_id: guid(n, 'cccc0000'),
      external_opportunity_id: guid(n, 'b0b00000'),
    })),
    deletedOpportunityIds: [],
  };
}

describe('page writer thread (SQLite file stores)', () => {
  let dir: string;
  const opened: MarketoStore[] = [];

  async function open(name: string, pageWriterThread: boolean): Promise<MarketoStore> {
    const store = await MarketoStore.open(`sqlite:${path.join(dir, name)}`, { pageWriterThread });
    opened.push(store);
    await store.migrate();
    return store;
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oppsync-writer-thread-'));
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close().catch(() => undefined)));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes exactly the rows the inline writer writes, with the same counts and lead ids', async () => {
    const inline = await open('inline.sqlite', false);
    const threaded = await open('threaded.sqlite', true);
    const page = generatedPage(1_200);
    const counts = await threaded.writePage(page, NOW);
    expect(counts).toEqual(await inline.writePage(page, NOW));
    expect(counts.opportunitiesUpserted).toBe(1_200);
    expect(counts.rolesUpserted).toBe(2_400);
    expect(await threaded.snapshot()).toEqual(await inline.snapshot());
    const leadIds = (store: MarketoStore) =>
      store.knex('leads').select('id', 'dynamics_contact_id').orderBy('id');
    expect(await leadIds(threaded)).toEqual(await leadIds(inline));
    // Written through the thread's own connection and committed: the caller's connection sees every row.
    expect(await threaded.knex('opportunities').count({ n: '*' })).toEqual([{ n: 1_200 }]);
  });

  it('brings a failed write back as the same error, and the next page is written', async () => {
    const store = await open('failing.sqlite', true);
    const broken = generatedPage(3);
    broken.roles.push({
      external_opportunity_id: guid(1, 'b0b00000'),
      dynamics_contact_id: guid(999, 'c0c00000'),
      role: 'Champion',
      is_primary: false,
    });
    const error = await store.writePage(broken, NOW).then(
      () => undefined,
      (caught: unknown) => caught as { name: string; code?: string; message: string },
    );
    expect(error).toMatchObject({ name: 'StoreError', code: 'STORE_LEAD_MISSING' });
    expect(error?.message).toContain(`role points to contact ${guid(999, 'c0c00000')}`);
    // The failed page's own transaction rolled back as a whole; the companies and leads it shares with other pages
    // were committed before it (store/page-writer.ts), and its retry finds them written.
    expect(await store.knex('opportunities').count({ n: '*' })).toEqual([{ n: 0 }]);
    expect(await store.knex('opportunity_roles').count({ n: '*' })).toEqual([{ n: 0 }]);
    expect(await store.knex('leads').count({ n: '*' })).toEqual([{ n: broken.leads.length }]);
    expect(await store.knex('companies').count({ n: '*' })).toEqual([{ n: broken.companies.length }]);
    await store.writePage(generatedPage(3), NOW);
    expect(await store.knex('opportunities').count({ n: '*' })).toEqual([{ n: 3 }]);
  });

  it('a page too large for the heap bound fails as retryable and rolls back; later writes double the bound until it is written', async () => {
    const file = path.join(dir, 'bounded.sqlite');
    await open('bounded.sqlite', false);
    // Each opportunity carries a 16 KB description: the page is about 65 MB in the thread, four times the bound.
    const page = generatedPage(4_000);
    page.opportunities = page.opportunities.map((row, i) => ({
      ...row,
      description: `${i} ${'d'.repeat(16_000)}`,
    }));
    const writer = await PageWriterThread.start(`sqlite:${file}`, 16);
    const check = await MarketoStore.open(`sqlite:${file}`);
    opened.push(check);
    try {
      const failures: { code?: string; message: string }[] = [];
      let counts;
      for (let attempt = 1; attempt <= 5 && counts === undefined; attempt++) {
        counts = await writer.writePage(page, NOW).catch((error: { code?: string; message: string }) => {
          failures.push(error);
          return undefined;
        });
        // The failed transaction rolled back as a whole: nothing of the page is in the store.
        if (counts === undefined)
          expect(await check.knex('opportunities').count({ n: '*' })).toEqual([{ n: 0 }]);
      }
      expect(failures.length).toBeGreaterThanOrEqual(1);
      expect(failures[0]).toMatchObject({ code: WRITER_OUT_OF_MEMORY });
      expect(failures[0]?.message).toContain('ran out of memory at its 16 MiB heap bound');
      expect(writer.heapBoundMb).toBe(16 * 2 ** failures.length);
      expect(counts?.opportunitiesUpserted).toBe(4_000);
      const descriptions = await check
        .knex('opportunities')
        .select('description')
        .orderBy('external_opportunity_id');
      expect(descriptions.map((row: { description: string }) => row.description).sort()).toEqual(
        page.opportunities.map((row) => row.description).sort(),
      );
      // The thread that replaced the one that died goes on writing pages.
      await writer.writePage(generatedPage(3), NOW);
      expect(await check.knex('opportunities').count({ n: '*' })).toEqual([{ n: 4_000 }]);
    } finally {
      await writer.close();
    }
  });

  it('fails a write sent after close instead of waiting for a thread that is gone', async () => {
    const store = await open('closed.sqlite', true);
    await store.close();
    await expect(store.writePage(generatedPage(1), NOW)).rejects.toThrow(/page writer thread exited/);
  });

  it('keeps an in-memory store inline (another thread would open another database)', async () => {
    const store = await MarketoStore.open('sqlite::memory:', { pageWriterThread: true });
    opened.push(store);
    await store.migrate();
    await store.writePage(generatedPage(2), NOW);
    expect(await store.knex('opportunities').count({ n: '*' })).toEqual([{ n: 2 }]);
  });
});
