/**
 * The test hooks over HTTP for out-of-process use (`oppsync marketo-emulator`); never counted as REST calls:
 *   GET  /_emulator/stats[?windowMs=…&minWaitMs=…]   counters, window and early-call figures, the call log
 *   POST /_emulator/stats/reset
 *   POST /_emulator/faults   {"latencyMs":…, "limits":{maxCallsPer20s?,maxConcurrent?,dailyQuota?}, "resetQuota":true,
 *                             "nativeCrmSync":bool, "expireTokens":true, "tokenLifetimeSeconds":…,
 *                             "failNext":{"count":…,"httpStatus"?:…,"code"?:"…"}, "denyAccess":bool}
 *   GET  /_emulator/data/<companies|leads|opportunities|roles>;  POST /_emulator/data/clear
 */
import type { ServerResponse } from 'node:http';
import type { Limits } from './limits';
import type {
  FailNextOptions,
  MarketoEmulatorData,
  MarketoEmulatorFaults,
  MarketoEmulatorStats,
  MarketoLimits,
} from './types';

interface FaultRequest {
  latencyMs?: number;
  limits?: Partial<MarketoLimits>;
  resetQuota?: boolean;
  nativeCrmSync?: boolean;
  expireTokens?: boolean;
  tokenLifetimeSeconds?: number;
  failNext?: { count: number } & FailNextOptions;
  denyAccess?: boolean;
}

function reply(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
  return true;
}

function applyFaults(faults: MarketoEmulatorFaults, request: FaultRequest): void {
  if (request.latencyMs !== undefined) faults.latencyMs = request.latencyMs;
  if (request.limits) faults.setLimits(request.limits);
  if (request.resetQuota) faults.resetQuota();
  if (request.nativeCrmSync !== undefined) faults.setNativeCrmSync(request.nativeCrmSync);
  if (request.tokenLifetimeSeconds !== undefined) faults.setTokenLifetime(request.tokenLifetimeSeconds);
  if (request.expireTokens) faults.expireTokens();
  if (request.failNext) {
    const { count, ...options } = request.failNext;
    faults.failNext(count, options);
  }
  if (request.denyAccess !== undefined) faults.denyAccess(request.denyAccess);
}

export function createControlHandler(
  data: MarketoEmulatorData,
  faults: MarketoEmulatorFaults,
  stats: MarketoEmulatorStats,
  limits: Limits,
): (method: string, path: string, query: URLSearchParams, body: string, res: ServerResponse) => boolean {
  const lists: Record<string, () => unknown[]> = {
    companies: () => data.companies(),
    leads: () => data.leads(),
    opportunities: () => data.opportunities(),
    roles: () => data.roles(),
  };
  return (method, path, query, body, res) => {
    try {
      if (method === 'GET' && path === '/_emulator/stats') {
        const windowMs = Number(query.get('windowMs') ?? 20_000);
        const minWaitMs = Number(query.get('minWaitMs') ?? 1000);
        return reply(res, 200, {
          calls: stats.calls,
          tokenRequests: stats.tokenRequests,
          quotaUsed: limits.quotaUsed(),
          limits: limits.current,
          maxCallsInAnyWindow: stats.maxCallsInAnyWindow(windowMs),
          maxConcurrentSeen: stats.maxConcurrentSeen(),
          earlyCalls: stats.earlyCalls(minWaitMs),
          log: stats.log,
        });
      }
      if (method === 'POST' && path === '/_emulator/stats/reset') {
        stats.reset();
        return reply(res, 200, {});
      }
      if (method === 'POST' && path === '/_emulator/faults') {
        applyFaults(faults, (body ? JSON.parse(body) : {}) as FaultRequest);
        return reply(res, 200, {});
      }
      if (method === 'POST' && path === '/_emulator/data/clear') {
        data.clear();
        return reply(res, 200, {});
      }
      const list = /^\/_emulator\/data\/(\w+)$/.exec(path)?.[1];
      if (method === 'GET' && list && lists[list]) return reply(res, 200, lists[list]());
      return false;
    } catch (error) {
      return reply(res, 400, { error: (error as Error).name, message: (error as Error).message });
    }
  };
}
