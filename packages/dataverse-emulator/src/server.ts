/** HTTP routing: Entra ID endpoints, the Web API (auth, faults, service protection, GET and $batch). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { boundaryOf, parseBatch, writeBatchResponse, type BatchPartResponse } from './batch';
import { CODES, ODataError, privilegeDenied, queryError } from './errors';
import type { FaultState } from './faults';
import { entityAttributes, entityDefinitions, whoAmI } from './metadata';
import type { Preferences, QueryAnswer, QueryEngine, QueryParams } from './query';
import type { EntityDef } from './schema';
import type { ServiceProtection } from './service-protection';
import type { OrgStore } from './store';
import type { IssuedToken, TokenService } from './token-service';
import type { EmulatorStats } from './types';

export const API_PATH = '/api/data/v9.2';
const MAX_URL = 32_768;
const MAX_BATCH_URL = 65_536;
const MAX_BODY = 64 * 1024 * 1024;

export interface ServerContext {
  url: string;
  tenantId: string;
  store: OrgStore;
  engine: QueryEngine;
  tokens: TokenService;
  protection: ServiceProtection;
  stats: EmulatorStats;
  faults: FaultState;
  changeTracking: Record<string, boolean>;
  /** Handles `/_emulator/…`; returns false when the path is not one of its own. */
  control(method: string, path: string, body: string, res: ServerResponse): boolean;
}

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  414: 'URI Too Long',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

const JSON_TYPE = 'application/json; odata.metadata=minimal';

function odataHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { 'Content-Type': JSON_TYPE, 'OData-Version': '4.0', REQ_ID: randomUUID(), ...extra };
}

function errorReply(error: ODataError): Reply {
  return { status: error.status, headers: odataHeaders(error.headers), body: error.body() };
}

/** Splits a `Prefer` header on commas outside quotes. */
export function parsePrefer(header: string | string[] | undefined): Preferences {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  const prefer: Preferences = { trackChanges: false, continueOnError: false };
  let quoted = false;
  let start = 0;
  const items: string[] = [];
  for (let i = 0; i <= text.length; i++) {
    if (text[i] === '"') quoted = !quoted;
    if (i === text.length || (text[i] === ',' && !quoted)) {
      items.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  for (const item of items) {
    const eq = item.indexOf('=');
    const name = (eq >= 0 ? item.slice(0, eq) : item).trim().toLowerCase();
    const value = eq >= 0 ? item.slice(eq + 1).trim() : '';
    if (name === 'odata.maxpagesize') {
      const size = Number(value);
      if (Number.isInteger(size) && size > 0) prefer.maxPageSize = size;
    } else if (name === 'odata.include-annotations') prefer.annotations = value;
    else if (name === 'odata.track-changes') prefer.trackChanges = true;
    else if (name === 'odata.continue-on-error') prefer.continueOnError = true;
  }
  return prefer;
}

/** Query options decoded the way ASP.NET does ('+' is a space); names are case sensitive. */
export function parseQuery(rawQuery: string): QueryParams {
  const options = new Map<string, string>();
  const rawParts = rawQuery.split('&').filter(Boolean);
  for (const part of rawParts) {
    const eq = part.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent((eq >= 0 ? part.slice(0, eq) : part).replace(/\+/g, ' '));
      value = eq >= 0 ? decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' ')) : '';
    } catch {
      throw queryError('The query string is not correctly URL-encoded.');
    }
    if (options.has(name))
      throw queryError(
        `Query option '${name}' was specified more than once, but it must be specified at most once.`,
      );
    options.set(name, value);
  }
  return { options, rawParts };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, reply.headers);
  res.end(reply.body);
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  send(res, {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  });
}

export function createRequestHandler(
  ctx: ServerContext,
): (req: IncomingMessage, res: ServerResponse) => void {
  const sets = new Map<string, EntityDef>(Object.values(ctx.store.schema).map((def) => [def.setName, def]));
  const serviceRoot = `${ctx.url}${API_PATH}`;

  function executeGet(
    resourcePath: string,
    rawQuery: string,
    headers: Record<string, string | string[] | undefined>,
    token: IssuedToken,
  ): Reply {
    try {
      const params = parseQuery(rawQuery);
      const prefer = parsePrefer(headers.prefer);
      const resource = decodeURIComponent(resourcePath);
      const attributesOf = /^EntityDefinitions\((.+)\)\/Attributes$/.exec(resource)?.[1];
      if (attributesOf !== undefined) {
        const answer = entityAttributes(ctx.store, ctx.changeTracking, serviceRoot, attributesOf, params);
        return { status: 200, headers: odataHeaders(), body: JSON.stringify(answer.body) };
      }
      const match = /^([A-Za-z_$][\w]*)(?:\((.*)\))?$/.exec(resource);
      if (!match?.[1])
        throw new ODataError(404, CODES.queryError, `Resource not found for the segment '${resource}'.`);
      const [, name, keyText] = match;
      let answer: QueryAnswer;
      if (name === 'EntityDefinitions') {
        answer = entityDefinitions(ctx.store, ctx.changeTracking, serviceRoot, keyText, params);
      } else if (name === 'WhoAmI') {
        answer = whoAmI(serviceRoot, token.userId);
      } else {
        const def = sets.get(name);
        if (!def)
          throw new ODataError(404, CODES.queryError, `Resource not found for the segment '${name}'.`);
        if (ctx.faults.readDenied.has(def.logicalName)) throw privilegeDenied(def, token.userId);
        const pending = ctx.faults.corrupt.get(name) ?? 0;
        if (pending > 0) {
          ctx.faults.corrupt.set(name, pending - 1);
          ctx.stats.corruptedResponses++;
          return {
            status: 200,
            headers: odataHeaders(),
            body: `{"@odata.context":"${serviceRoot}/$metadata#${name}","value":[{"${def.key}":`,
          };
        }
        answer =
          keyText !== undefined
            ? ctx.engine.single(def, keyText, params, prefer, name)
            : ctx.engine.collection(def, params, prefer, name);
      }
      const extra: Record<string, string> = {};
      if (answer.preferenceApplied.length > 0)
        extra['Preference-Applied'] = answer.preferenceApplied.join(',');
      return { status: 200, headers: odataHeaders(extra), body: JSON.stringify(answer.body) };
    } catch (error) {
      if ((error as Error).name === 'ODataError') {
        const odata = error as ODataError;
        if (odata.code === CODES.changeTokenExpired) ctx.stats.expiredChangeTokenRejections++;
        return errorReply(odata);
      }
      return errorReply(
        new ODataError(500, CODES.unexpected, `An unexpected error occurred: ${(error as Error).message}`),
      );
    }
  }

  function runBatch(
    req: IncomingMessage,
    body: string,
    token: IssuedToken,
    at: number,
    request: number,
  ): Reply {
    let parts;
    try {
      parts = parseBatch(body, boundaryOf(req.headers['content-type']));
    } catch (error) {
      if ((error as Error).name === 'ODataError') return errorReply(error as ODataError);
      throw error;
    }
    const prefer = parsePrefer(req.headers.prefer);
    const responses: BatchPartResponse[] = [];
    for (const part of parts) {
      let reply: Reply;
      let resourceUrl = part.url;
      if (resourceUrl.startsWith(serviceRoot)) resourceUrl = resourceUrl.slice(serviceRoot.length);
      else if (resourceUrl.startsWith(API_PATH)) resourceUrl = resourceUrl.slice(API_PATH.length);
      resourceUrl = resourceUrl.replace(/^\//, '');
      const fullUrl = `${serviceRoot}/${resourceUrl}`;
      const question = resourceUrl.indexOf('?');
      const path = question >= 0 ? resourceUrl.slice(0, question) : resourceUrl;
      if (part.url.length > MAX_BATCH_URL) {
        reply = errorReply(
          new ODataError(
            414,
            CODES.queryError,
            `The URL of a request in the batch is longer than ${MAX_BATCH_URL} characters.`,
          ),
        );
      } else if (/^https?:\/\//i.test(resourceUrl)) {
        reply = errorReply(
          new ODataError(400, CODES.queryError, 'A request in the batch points outside this organisation.'),
        );
      } else if (part.method !== 'GET') {
        reply = errorReply(
          new ODataError(
            405,
            CODES.queryError,
            `The emulator only answers GET requests; got ${part.method}.`,
          ),
        );
      } else {
        reply = executeGet(path, question >= 0 ? resourceUrl.slice(question + 1) : '', part.headers, token);
      }
      ctx.stats.log.push({
        at,
        method: part.method,
        path: `$batch:${API_PATH}/${path}`,
        batch: request,
        status: reply.status,
        tokenId: token.id,
        client: token.subject,
        key: `${part.method} ${fullUrl}`,
      });
      responses.push({
        status: reply.status,
        statusText: STATUS_TEXT[reply.status] ?? 'Error',
        headers: reply.headers,
        body: reply.body,
      });
      if (reply.status >= 400 && !prefer.continueOnError) break;
    }
    const written = writeBatchResponse(responses);
    const headers: Record<string, string> = {
      'Content-Type': written.contentType,
      'OData-Version': '4.0',
      REQ_ID: randomUUID(),
    };
    if (prefer.continueOnError) headers['Preference-Applied'] = 'odata.continue-on-error';
    return { status: 200, headers, body: written.body };
  }

  async function webApi(
    req: IncomingMessage,
    res: ServerResponse,
    rawUrl: string,
    body: string,
  ): Promise<void> {
    const at = Date.now();
    const method = req.method ?? 'GET';
    const question = rawUrl.indexOf('?');
    const path = question >= 0 ? rawUrl.slice(0, question) : rawUrl;
    // "The same request" for early-retry accounting: every $batch shares one URL, so its body tells them apart.
    const key =
      body === ''
        ? `${method} ${ctx.url}${rawUrl}`
        : `${method} ${ctx.url}${rawUrl} ${createHash('sha256').update(body).digest('hex').slice(0, 16)}`;
    ctx.stats.requests++;
    const request = ctx.stats.requests;
    const finish = (reply: Reply, extra: { token?: IssuedToken; retryAfterMs?: number } = {}): void => {
      ctx.stats.log.push({
        at,
        answeredAt: Date.now(),
        method,
        path,
        status: reply.status,
        key,
        tokenId: extra.token?.id,
        client: extra.token?.subject,
        ...(extra.retryAfterMs !== undefined ? { retryAfterMs: extra.retryAfterMs } : {}),
      });
      send(res, reply);
    };
    if (rawUrl.length > MAX_URL) {
      finish({
        status: 414,
        headers: { 'Content-Type': 'text/html' },
        body: '<h2>Bad Request - Request URL Too Long</h2>',
      });
      return;
    }
    const check = ctx.tokens.check(req.headers.authorization);
    if (!check.ok) {
      if (check.reason === 'expired') ctx.stats.expiredTokenRejections++;
      if (check.reason === 'revoked') ctx.stats.revokedTokenRejections++;
      finish({
        status: 401,
        headers: {
          'WWW-Authenticate': `Bearer authorization_uri=${ctx.tokens.authority}/oauth2/authorize, resource_id=${ctx.url}/`,
          'Content-Length': '0',
        },
        body: '',
      });
      return;
    }
    const token = check.token;
    const throttle = ctx.faults.throttle;
    if (throttle && ctx.faults.random.next() < throttle.ratio) {
      ctx.stats.throttled++;
      const error = new ODataError(
        429,
        CODES.requestsExceeded,
        'Number of requests exceeded the limit of 6000 over time window of 300 seconds.',
        { 'Retry-After': String(throttle.retryAfterSeconds) },
      );
      finish(errorReply(error), { token, retryAfterMs: throttle.retryAfterSeconds * 1000 });
      return;
    }
    if (ctx.faults.failNext.count > 0) {
      ctx.faults.failNext.count--;
      ctx.stats.injectedFailures++;
      const status = ctx.faults.failNext.status;
      finish(
        errorReply(
          new ODataError(
            status,
            CODES.unexpected,
            'The service is temporarily unavailable (emulated fault).',
          ),
        ),
        { token },
      );
      return;
    }
    const rejection = ctx.protection.admit(token.subject, at);
    if (rejection) {
      ctx.stats.throttled++;
      const error = new ODataError(429, rejection.code, rejection.message, {
        'Retry-After': String(rejection.retryAfterSeconds),
      });
      finish(errorReply(error), { token, retryAfterMs: rejection.retryAfterSeconds * 1000 });
      return;
    }
    try {
      if (ctx.faults.latencyMs > 0) await sleep(ctx.faults.latencyMs);
      const resource = path.slice(API_PATH.length + 1);
      let reply: Reply;
      if (resource === '$batch' && method === 'POST') reply = runBatch(req, body, token, at, request);
      else if (method === 'GET')
        reply = executeGet(resource, question >= 0 ? rawUrl.slice(question + 1) : '', req.headers, token);
      else
        reply = errorReply(
          new ODataError(
            405,
            CODES.queryError,
            `The emulator only answers GET requests and $batch; got ${method}.`,
          ),
        );
      reply.headers['x-ms-ratelimit-burst-remaining-xrm-requests'] = String(
        ctx.protection.remaining(token.subject),
      );
      finish(reply, { token });
    } finally {
      ctx.protection.release(token.subject);
    }
  }

  function identity(method: string, path: string, body: string, res: ServerResponse): boolean {
    const tenant = `/${ctx.tenantId}`;
    if (
      method === 'GET' &&
      (path === `${tenant}/v2.0/.well-known/openid-configuration` ||
        path === `${tenant}/.well-known/openid-configuration`)
    ) {
      sendJson(res, 200, ctx.tokens.openIdConfiguration());
      return true;
    }
    if (method === 'GET' && path === '/common/discovery/instance') {
      sendJson(res, 200, ctx.tokens.instanceDiscovery());
      return true;
    }
    if (method === 'GET' && path === `${tenant}/discovery/v2.0/keys`) {
      sendJson(res, 200, { keys: [] });
      return true;
    }
    if (method === 'POST' && path === `${tenant}/oauth2/v2.0/token`) {
      ctx.stats.tokenRequests++;
      const reply = ctx.tokens.handle(new URLSearchParams(body));
      if (reply.issued) ctx.stats.tokensIssued.push(reply.issued);
      sendJson(res, reply.status, reply.body, { 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache' });
      return true;
    }
    return false;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const method = req.method ?? 'GET';
    const path = rawUrl.split('?')[0] ?? '/';
    const body = await readBody(req);
    if (path === API_PATH || path.startsWith(`${API_PATH}/`)) return webApi(req, res, rawUrl, body);
    if (path.startsWith('/_emulator/') && ctx.control(method, path, body, res)) return;
    if (identity(method, path, body, res)) return;
    const tenantSegment = path.split('/')[1] ?? '';
    if (path.includes('/oauth2/') || path.includes('/.well-known/')) {
      sendJson(res, 400, {
        error: 'invalid_tenant',
        error_description: `AADSTS90002: Tenant '${tenantSegment}' not found.`,
        error_codes: [90002],
      });
      return;
    }
    sendJson(res, 404, { error: { code: CODES.queryError, message: `No route for ${method} ${path}` } });
  }

  // Requests each connection has carried, for dropNextOnReusedConnection.
  const served = new WeakMap<object, number>();
  return (req, res) => {
    const earlier = served.get(req.socket) ?? 0;
    served.set(req.socket, earlier + 1);
    if (earlier > 0 && ctx.faults.dropOnReused > 0) {
      ctx.faults.dropOnReused--;
      req.socket.destroy();
      return;
    }
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent)
        sendJson(res, 500, { error: { code: CODES.unexpected, message: (error as Error).message } });
      else res.destroy();
    });
  };
}
