import { randomUUID } from 'node:crypto';
import { DynamicsError } from './errors';
import type { HttpResult } from './http-agent';

/** A $batch holds at most this many requests. */
export const MAX_BATCH_PARTS = 1000;
// No documented cap on a $batch body; keep each well below common front-end request-size limits.
export const MAX_BATCH_BODY_CHARS = 16 * 1024 * 1024;

export interface BatchGet {
  url: string;
  headers: Record<string, string>;
}

/** A multipart/mixed $batch body of GET requests, and the Content-Type that names its boundary. */
export function buildBatch(parts: BatchGet[]): { contentType: string; body: string } {
  const boundary = `batch_${randomUUID()}`;
  const lines: string[] = [];
  parts.forEach((part, index) => {
    lines.push(
      `--${boundary}`,
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      `Content-ID: ${index + 1}`,
      '',
      `GET ${part.url} HTTP/1.1`,
      ...Object.entries(part.headers).map(([name, value]) => `${name}: ${value}`),
      '',
      '',
    );
  });
  lines.push(`--${boundary}--`, '');
  return { contentType: `multipart/mixed; boundary=${boundary}`, body: lines.join('\r\n') };
}

/** The size a GET part adds to a batch body (request line, headers and part framing). */
export function batchPartSize(part: BatchGet): number {
  let size = 150 + part.url.length;
  for (const [name, value] of Object.entries(part.headers)) size += name.length + value.length + 4;
  return size;
}

function boundaryOf(contentType: string | undefined): string | undefined {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return match?.[1] ?? match?.[2];
}

const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;
const SPACE = 0x20;
const TAB = 0x09;

/** Splits `bytes` at a header block's end (blank line, CRLF or LF); the head decoded, the rest as bytes. */
function splitHead(bytes: Buffer): { head: string; rest: Buffer } | undefined {
  for (let at = bytes.indexOf(LF); at !== -1; at = bytes.indexOf(LF, at + 1)) {
    const next = bytes[at + 1] === CR ? at + 2 : at + 1;
    if (bytes[next] !== LF) continue;
    const headEnd = at > 0 && bytes[at - 1] === CR ? at - 1 : at;
    return { head: bytes.toString('utf8', 0, headEnd), rest: bytes.subarray(next + 1) };
  }
  return undefined;
}

function parseHeaderLines(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function invalid(reason: string): DynamicsError {
  return new DynamicsError('INVALID_RESPONSE', `Unreadable $batch response: ${reason}`);
}

/**
 * The bodies between the delimiters of a multipart body (preamble and epilogue dropped), as slices of it: a
 * part is megabytes of rows, so it is not copied. A delimiter is
 * `--boundary`, or `--boundary--` for the last, at the start of a line, with only blanks after it on its line;
 * the line break before it belongs to it.
 */
function multipartBodies(bytes: Buffer, boundary: string): Buffer[] {
  const marker = Buffer.from(`--${boundary}`, 'utf8');
  const bodies: Buffer[] = [];
  let start: number | undefined;
  let closed = false;
  for (let at = bytes.indexOf(marker); at !== -1; at = bytes.indexOf(marker, at + 1)) {
    if (at > 0 && bytes[at - 1] !== LF) continue;
    let after = at + marker.length;
    const last = bytes[after] === DASH && bytes[after + 1] === DASH;
    if (last) after += 2;
    while (bytes[after] === SPACE || bytes[after] === TAB) after += 1;
    const lineEnds =
      after === bytes.length || bytes[after] === LF || (bytes[after] === CR && bytes[after + 1] === LF);
    if (!lineEnds) continue;
    if (start !== undefined) {
      const lineBreak = at > 0 ? (at > 1 && bytes[at - 2] === CR ? 2 : 1) : 0;
      bodies.push(bytes.subarray(start, at - lineBreak));
    }
    // The line break that ends the delimiter line is not part of the body.
    start = after + (bytes[after] === CR ? 2 : bytes[after] === LF ? 1 : 0);
    if (last) {
      closed = true;
      break;
    }
  }
  // A body cut off before its closing delimiter (a proxy truncated it) must not pass as a shorter batch.
  if (!closed) throw invalid(`no closing delimiter for boundary ${boundary}`);
  return bodies;
}

/** `bytes` without the blanks and line breaks at either end. */
function trimBytes(bytes: Buffer): Buffer {
  let from = 0;
  let to = bytes.length;
  const blank = (byte: number | undefined) => byte === SPACE || byte === TAB || byte === LF || byte === CR;
  while (from < to && blank(bytes[from])) from += 1;
  while (to > from && blank(bytes[to - 1])) to -= 1;
  return bytes.subarray(from, to);
}

/**
 * The responses inside a multipart/mixed $batch response, in order. Change sets (nested multipart parts)
 * are flattened.
 */
export function parseBatchResponse(contentType: string | undefined, body: Buffer | string): HttpResult[] {
  const boundary = boundaryOf(contentType);
  if (boundary === undefined) throw invalid(`no multipart boundary in Content-Type '${contentType ?? ''}'`);
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const results: HttpResult[] = [];
  for (const part of multipartBodies(bytes, boundary)) {
    const split = splitHead(part);
    if (!split) throw invalid('a part has no header block');
    const partHeaders = parseHeaderLines(split.head.split(/\r?\n/));
    const partType = partHeaders['content-type'] ?? '';
    if (/^multipart\/mixed/i.test(partType)) {
      results.push(...parseBatchResponse(partType, split.rest));
      continue;
    }
    const inner = splitHead(split.rest) ?? {
      head: split.rest.toString('utf8').trimEnd(),
      rest: Buffer.alloc(0),
    };
    const [statusLine = '', ...headerLines] = inner.head.split(/\r?\n/);
    const status = /^HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(statusLine.trim())?.[1];
    if (status === undefined) throw invalid(`a part has no HTTP status line ('${statusLine.slice(0, 40)}')`);
    results.push({
      status: Number(status),
      headers: parseHeaderLines(headerLines),
      body: trimBytes(inner.rest),
    });
  }
  return results;
}
