/** `multipart/mixed` parsing and writing for `$batch` (GET parts only: the emulated org is read-only). */
import { randomUUID } from 'node:crypto';
import { queryError } from './errors';

export interface BatchPart {
  method: string;
  url: string;
  headers: Record<string, string>;
}

export interface BatchPartResponse {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: string;
}

export const MAX_BATCH_REQUESTS = 1000;

export function boundaryOf(contentType: string | undefined): string {
  const match = /boundary=("?)([^";]+)\1/i.exec(contentType ?? '');
  if (!contentType?.toLowerCase().startsWith('multipart/mixed') || !match?.[2]) {
    throw queryError('A $batch request needs Content-Type: multipart/mixed with a boundary.');
  }
  return match[2];
}

function splitHead(text: string): [string[], string] {
  const normalized = text.replace(/^(\r?\n)+/, '');
  const blank = /\r?\n\r?\n/.exec(normalized);
  const head = blank ? normalized.slice(0, blank.index) : normalized;
  const rest = blank ? normalized.slice(blank.index + blank[0].length) : '';
  return [head.split(/\r?\n/).filter(Boolean), rest];
}

function headerMap(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

export function parseBatch(body: string, boundary: string): BatchPart[] {
  const delimiter = `--${boundary}`;
  const chunks = body.split(delimiter).slice(1);
  const parts: BatchPart[] = [];
  for (const chunk of chunks) {
    if (chunk.startsWith('--')) break;
    const [partHeaderLines, inner] = splitHead(chunk);
    const partHeaders = headerMap(partHeaderLines);
    const type = partHeaders['content-type'] ?? '';
    if (type.toLowerCase().startsWith('multipart/mixed')) {
      throw queryError('Change sets are not supported by the emulator: it only answers GET requests.');
    }
    if (!type.toLowerCase().startsWith('application/http'))
      throw queryError('Each $batch part needs Content-Type: application/http.');
    const [requestLines] = splitHead(inner);
    const [requestLine, ...headerLines] = requestLines;
    const match = /^(\w+)\s+(\S+)(?:\s+HTTP\/1\.[01])?$/.exec(requestLine ?? '');
    if (!match?.[1] || !match[2])
      throw queryError(`Invalid request line in $batch part: '${(requestLine ?? '').slice(0, 200)}'.`);
    parts.push({ method: match[1].toUpperCase(), url: match[2], headers: headerMap(headerLines) });
    if (parts.length > MAX_BATCH_REQUESTS) {
      throw queryError(`The number of requests in a batch exceeded the limit of ${MAX_BATCH_REQUESTS}.`);
    }
  }
  return parts;
}

export function writeBatchResponse(responses: BatchPartResponse[]): { contentType: string; body: string } {
  const boundary = `batchresponse_${randomUUID()}`;
  const parts = responses.map((response) => {
    const headers = Object.entries(response.headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    return `--${boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nHTTP/1.1 ${response.status} ${response.statusText}\r\n${headers}\r\n${response.body}\r\n`;
  });
  return {
    contentType: `multipart/mixed; boundary=${boundary}`,
    body: `${parts.join('')}--${boundary}--\r\n`,
  };
}
