import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { runSync } from '../client';
import { dataConverter } from '../temporal';
import { loadConfig } from '../config';
import { startCodecServer, type CodecServer } from '../temporal';
import { DEMO } from '@oppsync/dataverse-emulator';
import { AesGcmPayloadCodec } from '../temporal';
import type { SyncSummary } from '../workflows';
import { Harness } from './support/harness';

interface JsonPayload {
  metadata: Record<string, string>;
  data: string;
}
const UI = 'http://localhost:8233';
const b64 = (text: string): string => Buffer.from(text).toString('base64');
const text = (base64: string): string => Buffer.from(base64, 'base64').toString('utf8');

async function post(server: CodecServer, path: string, body: unknown): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', Origin: UI },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/**
 * Every payload of a raw history, except search attributes (the server indexes them, so never encoded) and the
 * markers of `patched()`, which the SDK core writes itself: they hold only the patch's name.
 */
function payloadsOf(value: unknown, out: JsonPayload[] = []): JsonPayload[] {
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return out;
  const record = value as Record<string, unknown>;
  if (record.markerName === 'core_patch') return out;
  if (record.data instanceof Uint8Array && typeof record.metadata === 'object' && record.metadata !== null) {
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(record.metadata as Record<string, Uint8Array>))
      metadata[k] = Buffer.from(v).toString('base64');
    out.push({ metadata, data: Buffer.from(record.data).toString('base64') });
    return out;
  }
  for (const [key, child] of Object.entries(record)) if (key !== 'searchAttributes') payloadsOf(child, out);
  return out;
}

describe('the payload codec server', () => {
  const key = randomBytes(32);
  let server: CodecServer;

  beforeAll(async () => {
    server = await startCodecServer({ codec: AesGcmPayloadCodec.fromKey('k1', key) });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('encrypts on /encode and gives the same payload back on /decode', async () => {
    const plain = { metadata: { encoding: b64('json/plain') }, data: b64('{"name":"Zoë Łukasiewicz"}') };
    const encoded = (await (await post(server, '/encode', { payloads: [plain] })).json()) as {
      payloads: JsonPayload[];
    };
    const [sealed] = encoded.payloads;
    expect(text(sealed?.metadata.encoding ?? '')).toBe('binary/encrypted');
    expect(text(sealed?.data ?? '')).not.toContain('Zoë');
    const decoded = await post(server, '/decode', encoded);
    expect(decoded.status).toBe(200);
    expect(((await decoded.json()) as { payloads: JsonPayload[] }).payloads).toEqual([plain]);
  });

  it('answers the UI’s CORS preflight (X-Namespace included) and only for the allowed origin', async () => {
    const preflight = (origin: string): Promise<Response> =>
      fetch(`${server.url}/decode`, {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type,x-namespace',
        },
      });
    const allowed = await preflight(UI);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(UI);
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/X-Namespace/i);
    expect(allowed.headers.get('access-control-allow-methods')).toMatch(/POST/);
    const other = await preflight('https://evil.example');
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const answer = await post(server, '/decode', { payloads: [] });
    expect(answer.headers.get('access-control-allow-origin')).toBe(UI);
  });

  it('refuses bad bodies and payloads sealed with another key, without echoing them', async () => {
    expect((await post(server, '/decode', 'not json')).status).toBe(400);
    expect((await post(server, '/decode', { nope: [] })).status).toBe(400);
    const stranger = AesGcmPayloadCodec.fromKey('k1', randomBytes(32));
    const [sealed] = await stranger.encode([{ metadata: {}, data: Buffer.from('secret contact') }]);
    const body = {
      payloads: [
        {
          metadata: { encoding: b64('binary/encrypted'), 'encryption-key-id': b64('k1') },
          data: Buffer.from(sealed?.data ?? []).toString('base64'),
        },
      ],
    };
    const answer = await post(server, '/decode', body);
    expect(answer.status).toBe(400);
    expect(await answer.text()).not.toContain(body.payloads[0]?.data ?? '');
    expect((await fetch(`${server.url}/elsewhere`, { method: 'POST' })).status).toBe(404);
  });
});

describe('the codec server with a credential', () => {
  const key = randomBytes(32);
  const token = randomBytes(24).toString('hex');
  const origin = 'https://temporal-ui.example.com';
  let server: CodecServer;

  beforeAll(async () => {
    const { operations } = loadConfig({ OPPSYNC_CODEC_TOKEN: token, OPPSYNC_CODEC_ORIGINS: origin });
    server = await startCodecServer({
      codec: AesGcmPayloadCodec.fromKey('k1', key),
      token: operations.codecToken,
      allowedOrigins: operations.codecOrigins,
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  const decode = (headers: Record<string, string>): Promise<Response> =>
    fetch(`${server.url}/decode`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: origin, ...headers },
      body: JSON.stringify({ payloads: [] }),
    });

  it('answers only callers that present the configured bearer token', async () => {
    const none = await decode({});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await decode({ Authorization: `Bearer ${token}x` })).status).toBe(401);
    expect((await decode({ Authorization: `Basic ${token}` })).status).toBe(401);
    const ok = await decode({ Authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ payloads: [] });
    expect(ok.headers.get('access-control-allow-origin')).toBe(origin);
  });

  it('limits CORS to the configured UI origin', async () => {
    const preflight = (from: string): Promise<Response> =>
      fetch(`${server.url}/decode`, {
        method: 'OPTIONS',
        headers: { Origin: from, 'Access-Control-Request-Method': 'POST' },
      });
    expect((await preflight(origin)).status).toBe(204);
    expect((await preflight(UI)).status).toBe(403);
  });

  it('without a credential refuses to listen anywhere but loopback; with one it may', async () => {
    const codec = AesGcmPayloadCodec.fromKey('k1', key);
    await expect(startCodecServer({ codec, host: '0.0.0.0' })).rejects.toThrow(/OPPSYNC_CODEC_TOKEN/);
    const open = await startCodecServer({ codec, host: '0.0.0.0', token });
    await open.close();
    const loopback = await startCodecServer({ codec, host: '127.0.0.1' });
    await loopback.close();
  });

  it('oppsync codec-server --host 0.0.0.0 without OPPSYNC_CODEC_TOKEN exits 2 naming it', async () => {
    const result = await promisify(execFile)(
      process.execPath,
      [path.join(__dirname, '..', 'bin', 'oppsync.js'), 'codec-server', '--host', '0.0.0.0', '--port', '0'],
      { env: { PATH: process.env.PATH ?? '', OPPSYNC_PAYLOAD_KEY: key.toString('base64') }, timeout: 30_000 },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('OPPSYNC_CODEC_TOKEN');
  });
});

describe('a sync with OPPSYNC_PAYLOAD_KEY set', () => {
  let h: Harness;
  let connection: Connection;
  let client: Client;
  let server: CodecServer;

  beforeAll(async () => {
    h = await Harness.start({
      store: 'sqlite',
      env: { OPPSYNC_PAYLOAD_KEY: randomBytes(32).toString('base64') },
    });
    await h.startWorker();
    connection = await Connection.connect({ address: h.devServer.address });
    client = new Client({ connection, dataConverter: dataConverter(h.config) });
    const config = h.config;
    server = await startCodecServer({
      codec: AesGcmPayloadCodec.fromKey(config.payloadKeyId, config.payloadKey as Buffer),
    });
  });
  afterAll(async () => {
    await server?.close();
    await connection?.close();
    await h?.close();
  });

  it('leaves nothing readable in history without the key, and the codec server reads it all', async () => {
    const outcome = await runSync(client, { taskQueue: h.config.temporal.taskQueue, full: true });
    expect(outcome.summary.status).toBe('COMPLETED');
    const summary: SyncSummary = outcome.summary;
    expect(summary.opportunitiesUpserted).toBeGreaterThan(5);

    const { history } = await connection.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId: summary.workflowId },
    });
    const payloads = payloadsOf(history);
    expect(payloads.length).toBeGreaterThan(5);
    for (const payload of payloads) expect(text(payload.metadata.encoding ?? '')).toBe('binary/encrypted');
    const raw = JSON.stringify(payloads.map((p) => text(p.data)));
    for (const plain of [h.emulator.url, 'opportunitiesUpserted', DEMO.opportunities.contosoLaptops])
      expect(raw).not.toContain(plain);

    const decoded = (await (await post(server, '/decode', { payloads })).json()) as {
      payloads: JsonPayload[];
    };
    const readable = decoded.payloads.map((p) => text(p.data)).join('\n');
    expect(readable).toContain(`${h.emulator.url}/api/data/`);
    expect(readable).toContain('"opportunitiesUpserted"');
  });
});
