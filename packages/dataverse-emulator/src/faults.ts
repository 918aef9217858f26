/** Fault injection state and the `EmulatorFaults` hooks over it. */
import { seededRandom, type Random } from './random';
import type { OrgStore } from './store';
import type { TokenService } from './token-service';
import type { EmulatorFaults } from './types';

export interface FaultState {
  latencyMs: number;
  throttle: { ratio: number; retryAfterSeconds: number } | null;
  /** Seeded so a throttled run is reproducible. */
  random: Random;
  failNext: { count: number; status: number };
  /** Requests still to be dropped when they come on a kept-alive connection (see dropNextOnReusedConnection). */
  dropOnReused: number;
  /** Entity set name → number of GETs still to corrupt. */
  corrupt: Map<string, number>;
  /** Tables (logical names) whose Read privilege every caller lacks: their GETs answer 403. */
  readDenied: Set<string>;
}

export function createFaultState(latencyMs: number): FaultState {
  return {
    latencyMs,
    throttle: null,
    random: seededRandom(429),
    failNext: { count: 0, status: 503 },
    dropOnReused: 0,
    corrupt: new Map(),
    readDenied: new Set(),
  };
}

export function createFaults(state: FaultState, tokens: TokenService, store: OrgStore): EmulatorFaults {
  return {
    get latencyMs() {
      return state.latencyMs;
    },
    set latencyMs(value: number) {
      state.latencyMs = Math.max(0, value);
    },
    throttle(opts) {
      state.throttle = opts
        ? { ratio: Math.min(1, Math.max(0, opts.ratio)), retryAfterSeconds: opts.retryAfterSeconds }
        : null;
    },
    failNext(count, status = 503) {
      state.failNext = { count: Math.max(0, count), status };
    },
    dropNextOnReusedConnection(count) {
      state.dropOnReused = Math.max(0, count);
    },
    expireAllTokens() {
      tokens.expireAll();
    },
    revokeAllTokens() {
      tokens.revokeAll();
    },
    expireChangeTokens() {
      // Tokens carry the version they were issued at; everything issued so far is below the new version.
      store.minValidChangeVersion = store.bumpVersion();
    },
    corruptNextResponse(entitySet) {
      state.corrupt.set(entitySet, (state.corrupt.get(entitySet) ?? 0) + 1);
    },
    denyRead(entity, on) {
      if (on) state.readDenied.add(entity);
      else state.readDenied.delete(entity);
    },
    rejectCredentials(on) {
      tokens.rejectCredentials = on;
    },
    serveColumns(entity, id, columns) {
      const key = `${entity}:${id.toLowerCase()}`;
      if (columns === null) store.servedColumns.delete(key);
      else store.servedColumns.set(key, { ...columns });
    },
  };
}
