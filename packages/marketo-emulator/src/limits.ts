/**
 * The instance's limits (OVR, BP, ERR): 606 past maxCallsPer20s arrivals in a sliding window, 615 when
 * maxConcurrent calls already execute, 607 when the day's quota is used. The day starts at 00:00 CST, read
 * strictly as fixed UTC−6 (no daylight saving).
 */
import type { MarketoLimits } from './types';

const CST_OFFSET_MS = 6 * 3600_000;
const DAY_MS = 86_400_000;

export const DEFAULT_LIMITS: MarketoLimits = { maxCallsPer20s: 100, maxConcurrent: 10, dailyQuota: 50_000 };

export type LimitCode = '606' | '607' | '615';

export class Limits {
  private limits: MarketoLimits;
  /** Arrival times of the calls the rate window counts, oldest first. */
  private arrivals: number[] = [];
  private inFlight = 0;
  private used = 0;
  private day = -1;

  constructor(
    limits: Partial<MarketoLimits>,
    private readonly windowMs: number,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  set(limits: Partial<MarketoLimits>): void {
    this.limits = { ...this.limits, ...limits };
  }

  get current(): MarketoLimits & { windowMs: number } {
    return { ...this.limits, windowMs: this.windowMs };
  }

  resetQuota(): void {
    this.used = 0;
  }

  quotaUsed(now = Date.now()): number {
    this.rollDay(now);
    return this.used;
  }

  private rollDay(now: number): void {
    const day = Math.floor((now - CST_OFFSET_MS) / DAY_MS);
    if (day !== this.day) {
      this.day = day;
      this.used = 0;
    }
  }

  private inWindow(now: number): number {
    while (this.arrivals.length > 0 && (this.arrivals[0] as number) <= now - this.windowMs)
      this.arrivals.shift();
    return this.arrivals.length;
  }

  /**
   * Decides a counted call at its arrival. Every answer but a starred code counts toward the quota; the
   * window counts the same calls except those refused with 606, so a client that waits gets through.
   */
  admit(at: number): LimitCode | undefined {
    this.rollDay(at);
    this.used++;
    if (this.used > this.limits.dailyQuota) return this.countInWindow(at, '607');
    if (this.inWindow(at) >= this.limits.maxCallsPer20s) return '606';
    if (this.inFlight >= this.limits.maxConcurrent) return this.countInWindow(at, '615');
    this.record(at);
    this.inFlight++;
    return undefined;
  }

  private countInWindow(at: number, code: LimitCode): LimitCode {
    this.record(at);
    return code;
  }

  /** Kept in order of arrival: bodies take different times to read, so admissions may come out of order. */
  private record(at: number): void {
    let i = this.arrivals.length;
    while (i > 0 && (this.arrivals[i - 1] as number) > at) i--;
    this.arrivals.splice(i, 0, at);
  }

  /** A call that bypasses the limit checks but still counts (an injected non-starred failure). */
  count(at: number): void {
    this.rollDay(at);
    this.used++;
    this.record(at);
  }

  release(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
  }
}
