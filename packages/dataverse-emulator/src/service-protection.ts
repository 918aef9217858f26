/**
 * Dataverse service-protection limits per token subject: a sliding window of requests and a cap on
 * concurrent requests. Over a limit the answer is 429 with a Retry-After that grows while the client
 * keeps pushing.
 */
import { CODES } from './errors';
import type { ServiceProtectionLimits } from './types';

export const DEFAULT_LIMITS: ServiceProtectionLimits = {
  requestsPerWindow: 6000,
  windowSeconds: 300,
  concurrent: 52,
};

export interface Rejection {
  code: string;
  message: string;
  retryAfterSeconds: number;
}

interface SubjectState {
  times: number[];
  head: number;
  inFlight: number;
  /** Requests rejected since the last admitted one: each adds a second to Retry-After. */
  pushes: number;
}

export class ServiceProtection {
  private readonly subjects = new Map<string, SubjectState>();

  constructor(private readonly limits: ServiceProtectionLimits) {}

  private state(subject: string): SubjectState {
    let state = this.subjects.get(subject);
    if (!state) {
      state = { times: [], head: 0, inFlight: 0, pushes: 0 };
      this.subjects.set(subject, state);
    }
    return state;
  }

  /** Admits a request (the caller must `release` it) or says why not. */
  admit(subject: string, now: number): Rejection | undefined {
    const state = this.state(subject);
    const windowMs = this.limits.windowSeconds * 1000;
    while (state.head < state.times.length && (state.times[state.head] as number) <= now - windowMs)
      state.head++;
    if (state.head > 10_000) {
      state.times = state.times.slice(state.head);
      state.head = 0;
    }
    const inWindow = state.times.length - state.head;
    if (inWindow >= this.limits.requestsPerWindow) {
      const oldest = state.times[state.head] as number;
      state.pushes++;
      return {
        code: CODES.requestsExceeded,
        message: `Number of requests exceeded the limit of ${this.limits.requestsPerWindow} over time window of ${this.limits.windowSeconds} seconds.`,
        retryAfterSeconds: Math.max(1, Math.ceil((oldest + windowMs - now) / 1000)) + state.pushes - 1,
      };
    }
    if (state.inFlight >= this.limits.concurrent) {
      state.pushes++;
      return {
        code: CODES.concurrencyExceeded,
        message: `Number of concurrent requests exceeded the limit of ${this.limits.concurrent}.`,
        retryAfterSeconds: state.pushes,
      };
    }
    state.pushes = 0;
    state.times.push(now);
    state.inFlight++;
    return undefined;
  }

  release(subject: string): void {
    const state = this.subjects.get(subject);
    if (state && state.inFlight > 0) state.inFlight--;
  }

  remaining(subject: string): number {
    const state = this.state(subject);
    return Math.max(0, this.limits.requestsPerWindow - (state.times.length - state.head));
  }
}
