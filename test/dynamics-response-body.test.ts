/**
 * Response bodies are read from axios's stream: exact text whatever the chunking and the characters, and a body
 * that stops arriving fails within the request's timeout instead of hanging the page.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import type { AxiosResponse } from 'axios';
import type { TokenProvider } from '../dynamics/auth';
import { isDynamicsError } from '../dynamics';
import { createHttp, decodeBody, readBody } from '../dynamics/http-agent';
import { WebApiTransport } from '../dynamics/transport';

function streamed(chunks: Buffer[], end = true): AxiosResponse {
  const stream = new PassThrough();
  for (const chunk of chunks) stream.write(chunk);
  if (end) stream.end();
  return { data: stream } as unknown as AxiosResponse;
}

const NO_HURRY = { timeoutMs: 60_000, startedAt: Date.now() };

describe('readBody and decodeBody', () => {
  it('gives the bytes exactly, and decodes UTF-8 however the chunks split it, a character across two included', async () => {
    const text = JSON.stringify({ value: [{ fullname: 'Chloé García – 東京 😀' }] });
    const bytes = Buffer.from(text, 'utf8');
    for (let cut = 1; cut < bytes.length; cut++) {
      const body = await readBody(streamed([bytes.subarray(0, cut), bytes.subarray(cut)]), NO_HURRY);
      expect(body.equals(bytes)).toBe(true);
      expect(decodeBody(body)).toBe(text);
    }
  });

  it('gives an ASCII body of several megabytes exactly, in many chunks', async () => {
    const rows = Array.from({ length: 30_000 }, (_, n) => ({ name: `Opportunity ${n}`, value: n * 1.5 }));
    const text = JSON.stringify({ value: rows });
    expect(text.length).toBeGreaterThan(1_100_000);
    const bytes = Buffer.from(text, 'latin1');
    const chunks: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += 65_536) chunks.push(bytes.subarray(at, at + 65_536));
    const body = await readBody(streamed(chunks), NO_HURRY);
    expect(decodeBody(body)).toBe(text);
  });

  it('drops a byte order mark before the JSON, as axios did', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"value":[]}')]);
    expect(decodeBody(bytes)).toBe('{"value":[]}');
  });

  it('fails a body that stops arriving, once the timeout counted from the request start has passed', async () => {
    const startedAt = Date.now();
    const reading = readBody(streamed([Buffer.from('{"value":[')], false), { timeoutMs: 300, startedAt });
    await expect(reading).rejects.toThrow('timeout of 300ms exceeded reading the response body');
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(290);
    expect(Date.now() - startedAt).toBeLessThan(5_000);
  });
});

describe('WebApiTransport with a body that stalls', () => {
  let server: http.Server;
  let url: string;

  beforeAll(async () => {
    server = http.createServer((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '1000' });
      // Half a body, then nothing: the headers arrived in time, the rows never do.
      response.write('{"value":[{"name":"first row"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/data/v9.2/opportunities`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('throws a retryable NETWORK error within the request timeout', async () => {
    const tokens = {
      get: () => Promise.resolve({ token: 'test-token' }),
      renew: () => Promise.resolve({ token: 'test-token' }),
    } as unknown as TokenProvider;
    const transport = new WebApiTransport(url, createHttp(undefined), tokens, 400, undefined);
    const startedAt = Date.now();
    const error: unknown = await transport.send({ method: 'GET', url, headers: {} }).catch((e: unknown) => e);
    expect(isDynamicsError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'NETWORK', retryable: true });
    expect((error as Error).message).toContain('timeout of 400ms exceeded reading the response body');
    expect(Date.now() - startedAt).toBeLessThan(5_000);
  });
});
