/**
 * The test hooks over HTTP for out-of-process use (`oppsync emulator`, fault tests against a child process):
 *   GET  /_emulator/stats            counters, earlyRetries and the request log
 *   POST /_emulator/stats/reset
 *   POST /_emulator/faults           {"latencyMs":…, "throttle":{…}|null, "failNext":{"count":…,"status":…},
 *                                     "expireAllTokens":true, "revokeAllTokens":true, "expireChangeTokens":true,
 *                                     "corruptNextResponse":"<entity set>", "rejectCredentials":bool,
 *                                     "denyRead":{"entity":"<logical name>","on":bool}}
 *   GET  /_emulator/data/<entity>    rows;  POST → create (returns {id});  PATCH /<id> → update;  DELETE /<id>
 *   POST /_emulator/connect          {"from":Lookup,"to":Lookup,"roleId":…,"reciprocalRoleId":…,"statecode":…}
 */
import type { ServerResponse } from 'node:http';
import type { EmulatorData, EmulatorFaults, EmulatorStats, EntityName, Lookup } from './types';

interface FaultRequest {
  latencyMs?: number;
  throttle?: { ratio: number; retryAfterSeconds: number } | null;
  failNext?: { count: number; status?: number };
  expireAllTokens?: boolean;
  revokeAllTokens?: boolean;
  expireChangeTokens?: boolean;
  corruptNextResponse?: string;
  rejectCredentials?: boolean;
  denyRead?: { entity: EntityName; on: boolean };
}

function reply(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
  return true;
}

function applyFaults(faults: EmulatorFaults, request: FaultRequest): void {
  if (request.latencyMs !== undefined) faults.latencyMs = request.latencyMs;
  if (request.throttle !== undefined) faults.throttle(request.throttle);
  if (request.failNext) faults.failNext(request.failNext.count, request.failNext.status);
  if (request.expireAllTokens) faults.expireAllTokens();
  if (request.revokeAllTokens) faults.revokeAllTokens();
  if (request.expireChangeTokens) faults.expireChangeTokens();
  if (request.corruptNextResponse) faults.corruptNextResponse(request.corruptNextResponse);
  if (request.rejectCredentials !== undefined) faults.rejectCredentials(request.rejectCredentials);
  if (request.denyRead) faults.denyRead(request.denyRead.entity, request.denyRead.on);
}

export function createControlHandler(
  data: EmulatorData,
  faults: EmulatorFaults,
  stats: EmulatorStats,
): (method: string, path: string, body: string, res: ServerResponse) => boolean {
  return (method, path, body, res) => {
    try {
      const parsed: unknown = body ? JSON.parse(body) : {};
      if (method === 'GET' && path === '/_emulator/stats') {
        return reply(res, 200, {
          requests: stats.requests,
          tokenRequests: stats.tokenRequests,
          throttled: stats.throttled,
          expiredTokenRejections: stats.expiredTokenRejections,
          revokedTokenRejections: stats.revokedTokenRejections,
          injectedFailures: stats.injectedFailures,
          corruptedResponses: stats.corruptedResponses,
          expiredChangeTokenRejections: stats.expiredChangeTokenRejections,
          earlyRetries: stats.earlyRetries(),
          tokensIssued: stats.tokensIssued.length,
          log: stats.log,
        });
      }
      if (method === 'POST' && path === '/_emulator/stats/reset') {
        stats.reset();
        return reply(res, 200, {});
      }
      if (method === 'POST' && path === '/_emulator/faults') {
        applyFaults(faults, parsed as FaultRequest);
        return reply(res, 200, {});
      }
      if (method === 'POST' && path === '/_emulator/connect') {
        const request = parsed as {
          from: Lookup;
          to: Lookup;
          roleId: string | null;
          reciprocalRoleId?: string | null;
          statecode?: 0 | 1;
        };
        return reply(res, 200, { id: data.connect(request.from, request.to, request.roleId, request) });
      }
      const match = /^\/_emulator\/data\/(\w+)(?:\/([\w-]+))?$/.exec(path);
      if (match?.[1]) {
        const entity = match[1] as EntityName;
        const id = match[2];
        if (method === 'GET' && !id) return reply(res, 200, data.list(entity));
        if (method === 'GET' && id) {
          const row = data.get(entity, id);
          return row ? reply(res, 200, row) : reply(res, 404, { error: 'not found' });
        }
        if (method === 'POST' && !id)
          return reply(res, 201, { id: data.create(entity, parsed as Record<string, unknown>) });
        if (method === 'PATCH' && id) {
          data.update(entity, id, parsed as Record<string, unknown>);
          return reply(res, 200, {});
        }
        if (method === 'DELETE' && id) {
          data.remove(entity, id);
          return reply(res, 200, {});
        }
      }
      return false;
    } catch (error) {
      const named = error as Error & { code?: string };
      return reply(res, 400, { error: named.code ?? named.name, message: named.message });
    }
  };
}
