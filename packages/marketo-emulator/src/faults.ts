/** Fault state shared by the request pipeline, and the `MarketoEmulatorFaults` hooks over it. */
import type { Limits } from './limits';
import type { TokenService } from './tokens';
import type { FailNextOptions, MarketoEmulatorFaults, MarketoObject, SkipPredicate } from './types';

export interface FaultState {
  latencyMs: number;
  nativeCrmSync: boolean;
  denyAccess: boolean;
  failNext: { count: number } & FailNextOptions;
  skip: Map<MarketoObject, SkipPredicate>;
}

export function createFaultState(options: { latencyMs?: number; nativeCrmSync?: boolean }): FaultState {
  return {
    latencyMs: Math.max(0, options.latencyMs ?? 0),
    nativeCrmSync: options.nativeCrmSync ?? false,
    denyAccess: false,
    failNext: { count: 0 },
    skip: new Map(),
  };
}

/** Takes one injected failure, if any is due. */
export function takeFailure(state: FaultState): FailNextOptions | undefined {
  if (state.failNext.count <= 0) return undefined;
  state.failNext.count--;
  const { httpStatus, code } = state.failNext;
  return httpStatus === undefined && code === undefined ? { code: '611' } : { httpStatus, code };
}

export function createFaults(state: FaultState, limits: Limits, tokens: TokenService): MarketoEmulatorFaults {
  return {
    get latencyMs() {
      return state.latencyMs;
    },
    set latencyMs(value: number) {
      state.latencyMs = Math.max(0, value);
    },
    setLimits: (next) => limits.set(next),
    resetQuota: () => limits.resetQuota(),
    setNativeCrmSync(on) {
      state.nativeCrmSync = on;
    },
    expireTokens: () => tokens.expireAll(),
    setTokenLifetime: (seconds) => tokens.setLifetime(seconds),
    failNext(count, options = {}) {
      state.failNext = { count: Math.max(0, count), ...options };
    },
    skipRecords(object, predicate) {
      if (predicate) state.skip.set(object, predicate);
      else state.skip.delete(object);
    },
    denyAccess(on) {
      state.denyAccess = on;
    },
  };
}
