/**
 * HTTP handling: the identity endpoint, the control hooks, and the REST pipeline. A REST call goes through,
 * in order: token (601/602) → injected failure → method (605) → limits (607, 606, 615) → latency → access
 * (603) → resource (610) → size (413/414) → content type (612) → JSON (609) → the handler.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { failure, FREE_CODES, MarketoCallError, success, type Envelope } from './envelope';
import { takeFailure, type FaultState } from './faults';
import type { Limits } from './limits';
import { readRequestFromJson, readRequestFromParams } from './reads';
import { resolve, type Resolved, type Route } from './routes';
import type { StatsRecorder } from './stats';
import type { TokenService } from './tokens';

export const MAX_BODY_BYTES = 1_048_576;
const MAX_URI_BYTES = 8192;
/** Bodies past this are not kept at all (they are answered 413 anyway). */
const READ_CAP = MAX_BODY_BYTES + 1;

export interface ServerContext {
  tokens: TokenService;
  limits: Limits;
  faults: FaultState;
  stats: StatsRecorder;
  routes: Route[];
  control(method: string, path: string, query: URLSearchParams, body: string, res: ServerResponse): boolean;
}

interface Answer {
  httpStatus: number;
  body: Envelope | string;
}

const HTTP_TEXT: Record<number, string> = { 413: 'Request Entity Too Large', 414: 'Request-URI Too Long' };

function readBody(req: IncomingMessage): Promise<{ text: string; bytes: number }> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      if (bytes < READ_CAP) chunks.push(chunk);
      bytes += chunk.length;
    });
    req.on('end', () => resolveBody({ text: Buffer.concat(chunks).toString('utf8'), bytes }));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8' });
  res.end(JSON.stringify(body));
}

const mediaType = (req: IncomingMessage): string =>
  (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

const bearer = (req: IncomingMessage): string | undefined =>
  /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new MarketoCallError('609');
  }
}

export function createRequestHandler(
  ctx: ServerContext,
): (req: IncomingMessage, res: ServerResponse) => void {
  /** Runs an admitted call: everything after the limits. */
  async function execute(
    req: IncomingMessage,
    rawUrl: string,
    resolved: Resolved,
    query: URLSearchParams,
    text: string,
    bytes: number,
  ): Promise<Answer> {
    if (ctx.faults.latencyMs > 0) await sleep(ctx.faults.latencyMs);
    if (ctx.faults.denyAccess) return { httpStatus: 200, body: failure('603') };
    if (resolved.kind === 'notFound' || resolved.kind === 'wrongMethod')
      return { httpStatus: 200, body: failure('610') };
    if (bytes > MAX_BODY_BYTES) return { httpStatus: 413, body: HTTP_TEXT[413] as string };
    if (Buffer.byteLength(rawUrl) > MAX_URI_BYTES) return { httpStatus: 414, body: HTTP_TEXT[414] as string };
    try {
      if (resolved.kind === 'write') {
        if (mediaType(req) !== 'application/json') throw new MarketoCallError('612');
        return { httpStatus: 200, body: success(resolved.route.write?.(parseJson(text)) ?? []) };
      }
      let request = readRequestFromParams(query);
      if (resolved.viaPost) {
        const type = mediaType(req);
        if (type === 'application/x-www-form-urlencoded')
          request = readRequestFromParams(new URLSearchParams(text));
        else if (type === 'application/json') request = readRequestFromJson(parseJson(text));
        else throw new MarketoCallError('612');
      }
      const answer = resolved.route.read?.(request, resolved.match) ?? { result: [] };
      return { httpStatus: 200, body: success(answer.result, answer) };
    } catch (error) {
      if (error instanceof MarketoCallError)
        return { httpStatus: 200, body: failure(error.code, error.message) };
      return { httpStatus: 200, body: failure('611', `System error: ${(error as Error).message}`) };
    }
  }

  async function rest(
    req: IncomingMessage,
    res: ServerResponse,
    rawUrl: string,
    path: string,
    query: URLSearchParams,
    at: number,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    ctx.stats.started();
    // A body cut off by the client is answered (to nobody) and logged like any call, so the counts stay right.
    const { text, bytes } = await readBody(req).catch(() => ({ text: '', bytes: 0 }));
    const finish = (answer: Answer): void => {
      const code = typeof answer.body === 'string' ? undefined : answer.body.errors?.[0]?.code;
      if (typeof answer.body === 'string') {
        res.writeHead(answer.httpStatus, { 'Content-Type': 'text/plain;charset=UTF-8' });
        res.end(answer.body);
      } else sendJson(res, answer.httpStatus, answer.body);
      let records = 0;
      try {
        const input = (JSON.parse(text) as { input?: unknown }).input;
        if (Array.isArray(input)) records = input.length;
      } catch {
        // not JSON: no records
      }
      ctx.stats.finished({
        at,
        answeredAt: Date.now(),
        method,
        path,
        httpStatus: answer.httpStatus,
        ...(code ? { code } : {}),
        records,
        bytes,
      });
    };
    // Strict: the access_token query parameter is being withdrawn (AUTH); only the header is honoured.
    const tokenCode = query.has('access_token') ? '601' : ctx.tokens.check(bearer(req));
    if (tokenCode) return finish({ httpStatus: 200, body: failure(tokenCode) });
    const injected = takeFailure(ctx.faults);
    if (injected) {
      if (injected.httpStatus !== undefined || !FREE_CODES.has(injected.code ?? '')) ctx.limits.count(at);
      if (injected.httpStatus !== undefined)
        return finish({ httpStatus: injected.httpStatus, body: `${injected.httpStatus} injected failure` });
      return finish({ httpStatus: 200, body: failure(injected.code ?? '611') });
    }
    const resolved = resolve(ctx.routes, method, path, query);
    if (resolved.kind === 'wrongMethod') return finish({ httpStatus: 200, body: failure('605') });
    const limited = ctx.limits.admit(at);
    if (limited === '606') {
      const { maxCallsPer20s, windowMs } = ctx.limits.current;
      return finish({
        httpStatus: 200,
        body: failure('606', `Max rate limit '${maxCallsPer20s}' exceeded with in '${windowMs / 1000}' secs`),
      });
    }
    if (limited) return finish({ httpStatus: 200, body: failure(limited) });
    try {
      finish(await execute(req, rawUrl, resolved, query, text, bytes));
    } finally {
      ctx.limits.release();
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const rawUrl = req.url ?? '/';
    const method = req.method ?? 'GET';
    const [path = '/', rawQuery = ''] = rawUrl.split(/\?(.*)/s);
    const query = new URLSearchParams(rawQuery);
    if (path === '/rest' || path.startsWith('/rest/')) return rest(req, res, rawUrl, path, query, at);
    const { text } = await readBody(req);
    if (path.startsWith('/_emulator/') && ctx.control(method, path, query, text, res)) return;
    if (path === '/identity/oauth/token') {
      ctx.stats.tokenRequests++;
      if (method !== 'GET' && method !== 'POST') return sendJson(res, 405, { error: 'method_not_allowed' });
      const reply = ctx.tokens.handle(query);
      return sendJson(res, reply.status, reply.body);
    }
    sendJson(res, 404, { error: 'not_found', error_description: `No resource at ${path}` });
  }

  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'internal', message: (error as Error).message });
      else res.destroy();
    });
  };
}
