import https from 'node:https';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import { isAscii } from 'node:buffer';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  /** The body's bytes, decoded once (decodeBody) where it is read. */
  body: Buffer;
}

/**
 * One axios instance per client, shared by the Web API calls and msal's token calls so that the optional
 * extra CA (the bundled emulator's) applies to both. Without `ca`, Node's default trust store applies,
 * which includes NODE_EXTRA_CA_CERTS.
 */
export function createHttp(ca: string | undefined): AxiosInstance {
  const httpsAgent = new https.Agent({
    keepAlive: true,
    ...(ca !== undefined ? { ca: [...tls.rootCertificates, ca] } : {}),
  });
  return axios.create({
    httpsAgent,
    // Statuses are mapped by the caller; bodies are read (readBody) and parsed by the caller so a truncated
    // body is detectable.
    validateStatus: () => true,
    responseType: 'stream',
    transformResponse: [(data: unknown) => data],
    maxRedirects: 0,
    maxBodyLength: Infinity,
    // -1: no limit, and no extra stream axios would otherwise wrap every response in to count its bytes.
    maxContentLength: -1,
    proxy: false,
  });
}

/** Response headers as a plain object with lower-case names and string values. */
export function plainHeaders(response: AxiosResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers as Record<string, unknown>)) {
    if (value === undefined || value === null) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.map(headerText).join(', ') : headerText(value);
  }
  return out;
}

function headerText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * The body of a response, complete within `timeoutMs` of `startedAt` (the request's start, epoch ms): axios's
 * own timeout ends when the headers arrive, as the body of a streamed response is the caller's to read.
 */
export async function readBody(
  response: AxiosResponse,
  timing: { timeoutMs: number; startedAt: number },
): Promise<Buffer> {
  const data: unknown = response.data;
  if (Buffer.isBuffer(data)) return data;
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (!(data instanceof Readable))
    return Buffer.from(data === undefined || data === null ? '' : JSON.stringify(data));
  const timer = setTimeout(
    () => data.destroy(new Error(`timeout of ${timing.timeoutMs}ms exceeded reading the response body`)),
    Math.max(0, timing.startedAt + timing.timeoutMs - Date.now()),
  );
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of data) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  } finally {
    clearTimeout(timer);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}

/** A body's text: Latin-1 when it is all ASCII (the same text, decoded without the UTF-8 decoder), else UTF-8. */
export function decodeBody(body: Buffer): string {
  if (isAscii(body)) return body.toString('latin1');
  const text = body.toString('utf8');
  // As axios's text responses did: a byte order mark is not part of the JSON.
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** A result's body as text (error messages, token answers). */
export function bodyText(result: HttpResult): string {
  return decodeBody(result.body);
}
