/**
 * Marketo's call limits, shared by every worker and every run through the store (SPEC section 7, rule 3):
 * calls in any sliding 20 s window, calls in flight, the day's quota, and the back-off after a 606 or 615.
 *
 * Each call takes a slot in one transaction that first locks the single `marketo_budget` row, so two workers
 * never both see room for the last slot. A call counts in the window from when it is sent until 20 s after it
 * finished: Marketo counts arrivals, which lie in between, so no 20 s of arrivals can hold more than the limit.
 * Times are the workers' clocks (keep them synchronised, as Temporal needs anyway).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import { MarketoError } from './errors';

export const WINDOW_MS = 20_000;
/** A call not finished after this (its worker was killed) no longer counts as in flight. */
const STALE_CALL_MS = 120_000;
/** After a 606 or 615 no worker calls for at least this long, then twice as long each time, up to a minute. */
const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 60_000;
/** How long a worker waiting for a free slot sleeps before it asks again. */
const POLL_MS = 50;

export interface CallLimits {
  maxCallsPer20s: number;
  maxConcurrent: number;
  dailyQuota: number;
}

interface BudgetRow {
  blocked_until: number | string;
  backoff_ms: number | string;
  quota_day: string;
  quota_used: number | string;
  quota_exhausted_day: string | null;
}

/** Marketo's day: its quota resets at 12:00 AM CST, taken as fixed UTC−6 (the earlier of the two readings). */
export function quotaDay(at: number): string {
  return new Date(at - 6 * 3_600_000).toISOString().slice(0, 10);
}

export interface QuotaUsage {
  day: string;
  used: number;
  limit: number;
  exhausted: boolean;
}

export class CallBudget {
  constructor(
    private readonly knex: Knex,
    private readonly limits: CallLimits,
    private readonly options: { now?: () => number; onWait?: () => void } = {},
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /**
   * Waits for a slot, takes it for `holder` and returns its id; throws a 'quota' MarketoError when the day's
   * quota is used.
   */
  async acquire(signal?: AbortSignal, holder?: string): Promise<number> {
    for (;;) {
      signal?.throwIfAborted();
      const outcome = await this.knex.transaction(async (trx) => this.tryAcquire(trx, holder));
      if (typeof outcome === 'object') return outcome.slot;
      this.options.onWait?.();
      await sleep(Math.min(Math.max(outcome, POLL_MS), 1_000), undefined, signal ? { signal } : {});
    }
  }

  /** A slot's id, or how many milliseconds to wait before asking again. */
  private async tryAcquire(trx: Knex.Transaction, holder?: string): Promise<{ slot: number } | number> {
    // The update takes the row's lock (PostgreSQL) or the database's write lock (SQLite) first.
    await trx('marketo_budget').where({ id: 1 }).update({ id: 1 });
    const row = (await trx('marketo_budget').where({ id: 1 }).first()) as BudgetRow;
    const now = this.now();
    const day = quotaDay(now);
    const used = row.quota_day === day ? Number(row.quota_used) : 0;
    // Only oppsync's own count stops a call here: after Marketo's 607 every later run tries again (rule 4).
    if (used >= this.limits.dailyQuota) throw quotaError(used, this.limits.dailyQuota);
    if (now < Number(row.blocked_until)) return Number(row.blocked_until) - now;
    await trx('marketo_calls')
      .where('finished_at', '<=', now - WINDOW_MS)
      .orWhere('started_at', '<=', now - STALE_CALL_MS)
      .delete();
    const calls = await trx<{ started_at: number | string; finished_at: number | string | null }>(
      'marketo_calls',
    ).select('started_at', 'finished_at');
    const inFlight = calls.filter((c) => c.finished_at === null).length;
    if (calls.length >= this.limits.maxCallsPer20s) {
      const ends = calls.filter((c) => c.finished_at !== null).map((c) => Number(c.finished_at) + WINDOW_MS);
      return ends.length > 0 ? Math.min(...ends) - now : POLL_MS;
    }
    if (inFlight >= this.limits.maxConcurrent) return POLL_MS;
    const [inserted] = await trx<{ id: number; started_at: number; holder: string | null }>(
      'marketo_calls',
    ).insert({ started_at: now, holder: holder ?? null }, ['id']);
    await trx('marketo_budget')
      .where({ id: 1 })
      .update({ quota_day: day, quota_used: used + 1 });
    return { slot: Number(inserted?.id) };
  }

  /**
   * The slot's call has been answered. A 606 or 615 makes every worker wait (1 s, then doubling); any other
   * answer ends the back-off.
   */
  async release(slot: number, throttled: boolean): Promise<void> {
    const now = this.now();
    await this.knex.transaction(async (trx) => {
      await trx('marketo_calls').where({ id: slot }).update({ finished_at: now });
      const row = (await trx('marketo_budget').where({ id: 1 }).first()) as BudgetRow;
      if (throttled) {
        const backoff = Math.min(Math.max(Number(row.backoff_ms) * 2, FIRST_BACKOFF_MS), MAX_BACKOFF_MS);
        await trx('marketo_budget')
          .where({ id: 1 })
          .update({ backoff_ms: backoff, blocked_until: Math.max(Number(row.blocked_until), now + backoff) });
      } else if (Number(row.backoff_ms) !== 0) {
        await trx('marketo_budget').where({ id: 1 }).update({ backoff_ms: 0 });
      }
    });
  }

  /**
   * A new attempt of `holder` (its worker was killed mid-call): the calls it left in flight are over, and
   * count in the window for 20 s more, as if they had just been answered.
   */
  async abandon(holder: string): Promise<void> {
    await this.knex('marketo_calls')
      .where({ holder })
      .whereNull('finished_at')
      .update({ finished_at: this.now() });
  }

  /** Marketo said 607 (shown by `oppsync status` until a push gets through again). */
  async quotaReached(reached: boolean): Promise<void> {
    await this.knex('marketo_budget')
      .where({ id: 1 })
      .update({ quota_exhausted_day: reached ? quotaDay(this.now()) : null });
  }

  async usage(): Promise<QuotaUsage> {
    const row = (await this.knex('marketo_budget').where({ id: 1 }).first()) as BudgetRow | undefined;
    const day = quotaDay(this.now());
    const used = row !== undefined && row.quota_day === day ? Number(row.quota_used) : 0;
    return {
      day,
      used,
      limit: this.limits.dailyQuota,
      exhausted: row?.quota_exhausted_day === day || used >= this.limits.dailyQuota,
    };
  }
}

function quotaError(used: number, limit: number): MarketoError {
  return new MarketoError(
    'quota',
    '607',
    `Marketo's daily quota is used (${used} of MARKETO_DAILY_QUOTA=${limit} calls, or Marketo answered 607): the rest is pushed by the first run after the reset at 12:00 AM CST`,
  );
}
