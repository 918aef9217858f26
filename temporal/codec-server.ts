import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { DEFAULT_UI_ORIGINS } from '../config';

const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Default 0 = a free port. */
  port?: number;
  /** Default 127.0.0.1: whoever reaches the port can decrypt, so it is not exposed beyond this machine. */
  host?: string;
  /** Browser origins allowed to call it (the Temporal UI's); default DEFAULT_UI_ORIGINS. */
  allowedOrigins?: readonly string[];
  /**
   * The bearer token every /encode and /decode call must present (`Authorization: Bearer <token>`). Without
   * one the server only listens on a loopback address: whoever reaches the port could decrypt history.
   */
  token?: string;
}

/** Refused configuration: no credential for an address other machines can reach. */
export class CodecServerConfigError extends Error {
  override readonly name = 'CodecServerConfigError';
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Compares digests, so neither the length nor the content of the token leaks through timing. */
function presents(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (match?.[1] === undefined) return false;
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(match[1]), digest(token));
}

export interface CodecServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** A payload in the codec server JSON shape: metadata values and data are base64. */
interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

class BadRequest extends Error {
  override readonly name = 'BadRequest';
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function fromJson(payload: JsonPayload): Payload {
  if (typeof payload !== 'object' || payload === null) throw new BadRequest('a payload must be an object');
  const metadata: Record<string, Uint8Array> = {};
  for (const [key, value] of Object.entries(payload.metadata ?? {})) {
    if (typeof value !== 'string') throw new BadRequest(`metadata '${key}' must be base64 text`);
    metadata[key] = Buffer.from(value, 'base64');
  }
  if (payload.data !== undefined && typeof payload.data !== 'string')
    throw new BadRequest('data must be base64 text');
  return { metadata, data: Buffer.from(payload.data ?? '', 'base64') };
}

function toJson(payload: Payload): JsonPayload {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(payload.metadata ?? {}))
    metadata[key] = Buffer.from(value ?? []).toString('base64');
  return { metadata, data: Buffer.from(payload.data ?? []).toString('base64') };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BadRequest('request body too large', 413));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parsePayloads(body: string): Payload[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new BadRequest('body is not JSON');
  }
  const payloads = (parsed as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(payloads)) throw new BadRequest('body must be {"payloads":[...]}');
  return payloads.map((p) => fromJson(p as JsonPayload));
}

function corsHeaders(origin: string | undefined, allowed: readonly string[]): Record<string, string> {
  if (origin === undefined || !allowed.includes(origin)) return {};
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Methods': 'POST, OPTIONS',
    // The UI sends X-Namespace, and Authorization when "include credentials" is on.
    'Access-Control-Allow-Headers': 'Content-Type, X-Namespace, Authorization',
    'Access-Control-Allow-Credentials': 'true',
    'Access-Control-Max-Age': '600',
    Vary: 'Origin',
  };
}

/**
 * The Temporal codec server protocol (`POST /encode`, `POST /decode`, body `{payloads:[…]}`), so the
 * Temporal UI and `temporal` CLI can show decrypted payloads to whoever runs this with the key.
 */
export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const allowed = options.allowedOrigins ?? DEFAULT_UI_ORIGINS;
  const host = options.host ?? '127.0.0.1';
  if (options.token === undefined && !isLoopback(host))
    throw new CodecServerConfigError(
      `the codec server decrypts history for whoever reaches it: set OPPSYNC_CODEC_TOKEN to listen on ${host}, ` +
        'or listen on 127.0.0.1',
    );
  const token = options.token;
  const server = http.createServer((req, res) => {
    const cors = corsHeaders(req.headers.origin, allowed);
    const send = (status: number, body?: unknown): void => {
      res.writeHead(status, {
        ...cors,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json; charset=utf-8' }),
      });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    if (req.method === 'OPTIONS') return send(cors['Access-Control-Allow-Origin'] ? 204 : 403);
    // The UI may put the namespace in front (`/<namespace>/decode`): only the last segment matters.
    const action = /\/(encode|decode)\/?$/.exec(new URL(req.url ?? '/', 'http://codec').pathname)?.[1];
    if (action === undefined) return send(404, { error: 'use POST /encode or POST /decode' });
    if (req.method !== 'POST') return send(405, { error: 'use POST' });
    if (token !== undefined && !presents(req.headers.authorization, token)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="oppsync codec"');
      return send(401, { error: 'a bearer token is required' });
    }
    readBody(req)
      .then(async (body) => {
        const payloads = parsePayloads(body);
        const out =
          action === 'encode' ? await options.codec.encode(payloads) : await options.codec.decode(payloads);
        send(200, { payloads: out.map(toJson) });
      })
      .catch((error: unknown) => {
        if ((error as Error).name === 'BadRequest')
          return send((error as BadRequest).status, { error: (error as Error).message });
        // A payload sealed with another key or tampered with: say so, never echo the payload.
        send(400, { error: `cannot ${action} these payloads` });
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
