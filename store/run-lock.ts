import type { Knex } from 'knex';

/**
 * Two runs never write at once: a run holds this row of sync_state (value: its sync id) from its first activity
 * to its last, and renews it at every activity. A holder that stopped renewing (a run terminated before it could
 * release) loses it after the lease, which is longer than one activity may run (its 30-minute start-to-close).
 */
const RUN_LOCK_KEY = 'run-lock';
export const RUN_LOCK_LEASE_MS = 35 * 60_000;

/**
 * Takes the lock for `holder`, or renews it if `holder` has it; one statement, so two runs racing for it cannot
 * both win. Returns who holds it now: `holder` itself, or the run that has it.
 */
export async function claimRunLock(knex: Knex, holder: string, now: Date): Promise<string> {
  const expired = new Date(now.getTime() - RUN_LOCK_LEASE_MS).toISOString();
  await knex('sync_state')
    .insert({ key: RUN_LOCK_KEY, value: holder, updated_at: now.toISOString() })
    .onConflict('key')
    .merge(['value', 'updated_at'])
    .where('sync_state.value', holder)
    .orWhere('sync_state.updated_at', '<', expired);
  const row = (await knex('sync_state').select('value').where({ key: RUN_LOCK_KEY }).first()) as
    { value: string } | undefined;
  return row?.value ?? holder;
}

/** Gives the lock up, if `holder` still has it. */
export async function releaseRunLock(knex: Knex, holder: string): Promise<void> {
  await knex('sync_state').where({ key: RUN_LOCK_KEY, value: holder }).delete();
}
