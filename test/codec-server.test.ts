import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { runSync } from '../client';
import { dataConverter } from '../client/connection';
import { startCodecServer, type CodecServer } from '../codec-server';
import { DEMO } from '../emulator';
import { AesGcmPayloadCodec } from '../shared/payload-codec';
import type { SyncSummary } from '../shared/sync-types';
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

/** Every payload of a raw history (search attributes excepted: the server indexes them, so never encoded). */
function payloadsOf(value: unknown, out: JsonPayload[] = []): JsonPayload[] {
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return out;
  const record = value as Record<string, unknown>;
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
