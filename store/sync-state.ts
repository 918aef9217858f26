/**
 * The sync's bookkeeping beside the mirror: `sync_state` (change tokens and watermarks, the last success, the
 * shared back-off, the push's state), the run lock, and `sync_pending`, the opportunities queued for the next
 * re-resolve. Kept apart from the Marketo tables, which only MarketoStore writes.
 */
import type { Knex } from 'knex';
import { decodeLastSuccess, LAST_SUCCESS_KEY, type LastSuccess } from './last-success';
import { claimRunLock, releaseRunLock } from './run-lock';
import { deleteIn, insertIgnoring, upsertRows } from './sql';

export class SyncState {
  constructor(private readonly knex: Knex) {}

  /** Every saved entry (change tokens, watermarks), for `oppsync status`. */
  async all(): Promise<Record<string, { value: string; updatedAt: string }>> {
    const rows = (await this.knex('sync_state').select('key', 'value', 'updated_at').orderBy('key')) as {
      key: string;
      value: string;
      updated_at: string;
    }[];
    return Object.fromEntries(rows.map((row) => [row.key, { value: row.value, updatedAt: row.updated_at }]));
  }

  async get(key: string): Promise<string | undefined> {
    const row = (await this.knex('sync_state').select('value').where({ key }).first()) as
      { value: string | null } | undefined;
    return row?.value ?? undefined;
  }

  /** Sets several keys at once (one transaction); null deletes a key. */
  async set(entries: Record<string, string | null>): Promise<void> {
    const updatedAt = new Date().toISOString();
    const set = Object.entries(entries).flatMap(([key, value]) =>
      value === null ? [] : [{ key, value, updated_at: updatedAt }],
    );
    const removed = Object.keys(entries).filter((key) => entries[key] === null);
    await this.knex.transaction(async (trx) => {
      await upsertRows(trx, 'sync_state', set, ['key']);
      await deleteIn(trx, 'sync_state', 'key', removed);
    });
  }

  /** Sets `key` to the ISO time `value` unless it holds a later one, so that two writers never move it back. */
  async setLater(key: string, value: string): Promise<void> {
    await this.knex('sync_state')
      .insert({ key, value, updated_at: new Date().toISOString() })
      .onConflict('key')
      .merge(['value', 'updated_at'])
      .where('sync_state.value', '<', value);
  }

  /** The last run that finished (finishSync's record), undefined before the first. */
  async lastSuccess(): Promise<LastSuccess | undefined> {
    return decodeLastSuccess(await this.get(LAST_SUCCESS_KEY));
  }

  /** Takes or renews the run lock for this sync; answers the sync that holds it now (see run-lock.ts). */
  claimRunLock(syncId: string, now = new Date()): Promise<string> {
    return claimRunLock(this.knex, syncId, now);
  }

  releaseRunLock(syncId: string): Promise<void> {
    return releaseRunLock(this.knex, syncId);
  }
}

/** `sync_pending`: opportunities that changed only through related records, queued for re-resolving. */
export class PendingQueue {
  constructor(private readonly knex: Knex) {}

  /** Queues opportunities; one already queued keeps its place. */
  async add(ids: string[], reason: string): Promise<void> {
    const addedAt = new Date().toISOString();
    const rows = [...new Set(ids)].map((id) => ({ external_opportunity_id: id, reason, added_at: addedAt }));
    await insertIgnoring(this.knex, 'sync_pending', rows, ['external_opportunity_id']);
  }

  /** Oldest first; not removed (a page write removes what it wrote, so a crash loses nothing). */
  async take(limit: number): Promise<string[]> {
    const rows = (await this.knex('sync_pending')
      .select('external_opportunity_id')
      .orderBy([{ column: 'added_at' }, { column: 'external_opportunity_id' }])
      .limit(limit)) as { external_opportunity_id: string }[];
    return rows.map((r) => r.external_opportunity_id);
  }

  async count(): Promise<number> {
    const row = (await this.knex('sync_pending').count({ n: '*' }).first()) as
      { n: number | string } | undefined;
    return Number(row?.n ?? 0);
  }

  async clear(): Promise<void> {
    await this.knex('sync_pending').delete();
  }

  /** Drops queued ids that were handled without a write (filtered out, unmappable) so the queue always drains. */
  async remove(ids: string[]): Promise<void> {
    await deleteIn(this.knex, 'sync_pending', 'external_opportunity_id', ids);
  }
}
