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

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Splits `text` at a header block's end (blank line, CRLF or LF). */
function splitHead(text: string): { head: string; rest: string } | undefined {
  const match = /\r?\n\r?\n/.exec(text);
  if (!match) return undefined;
  return { head: text.slice(0, match.index), rest: text.slice(match.index + match[0].length) };
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

/** The bodies between the delimiters of a multipart body (preamble and epilogue dropped). */
function multipartBodies(text: string, boundary: string): string[] {
  const delimiter = new RegExp(`(?:^|\\r?\\n)--${escapeRegExp(boundary)}(--)?[ \\t]*(?=\\r?\\n|$)`, 'g');
  const bodies: string[] = [];
  let start: number | undefined;
  let closed = false;
  for (let match = delimiter.exec(text); match !== null; match = delimiter.exec(text)) {
    if (start !== undefined) bodies.push(text.slice(start, match.index));
    // The line break that ends the delimiter line is not part of the body. Skipping it by position keeps the
    // body a slice of the response (a part is megabytes of rows; replacing the break would copy it all).
    start = match.index + match[0].length;
    if (text.startsWith('\r\n', start)) start += 2;
    else if (text.startsWith('\n', start)) start += 1;
    if (match[1] === '--') {
      closed = true;
      break;
    }
  }
  // A body cut off before its closing delimiter (a proxy truncated it) must not pass as a shorter batch.
  if (!closed) throw invalid(`no closing delimiter for boundary ${boundary}`);
  return bodies;
}

/**
 * The responses inside a multipart/mixed $batch response, in order. Change sets (nested multipart parts)
 * are flattened.
 */
export function parseBatchResponse(contentType: string | undefined, text: string): HttpResult[] {
  const boundary = boundaryOf(contentType);
  if (boundary === undefined) throw invalid(`no multipart boundary in Content-Type '${contentType ?? ''}'`);
  const results: HttpResult[] = [];
  for (const part of multipartBodies(text, boundary)) {
    const split = splitHead(part);
    if (!split) throw invalid('a part has no header block');
    const partHeaders = parseHeaderLines(split.head.split(/\r?\n/));
    const partType = partHeaders['content-type'] ?? '';
    if (/^multipart\/mixed/i.test(partType)) {
      results.push(...parseBatchResponse(partType, split.rest));
      continue;
    }
    const inner = splitHead(split.rest) ?? { head: split.rest.trimEnd(), rest: '' };
    const [statusLine = '', ...headerLines] = inner.head.split(/\r?\n/);
    const status = /^HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(statusLine.trim())?.[1];
    if (status === undefined) throw invalid(`a part has no HTTP status line ('${statusLine.slice(0, 40)}')`);
    results.push({ status: Number(status), headers: parseHeaderLines(headerLines), text: inner.rest.trim() });
  }
  return results;
}
