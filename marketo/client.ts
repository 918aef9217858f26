/**
 * Marketo's REST API, one call at a time: the access token (client credentials, held in memory only), the
 * response envelope, and its errors sorted by what the push does about them. The call budget (rate,
 * concurrency, quota) is the caller's: see budget.ts.
 */
import https from 'node:https';
import tls from 'node:tls';
import axios, { type AxiosInstance } from 'axios';
import { MarketoError, responseError } from './errors';

export interface MarketoConnection {
  /** Instance base, e.g. https://123-ABC-456.mktorest.com (no trailing slash). */
  url: string;
  clientId: string;
  clientSecret: string;
  /** Extra CA PEM, only for the in-process bundled emulator; production uses NODE_EXTRA_CA_CERTS. */
  ca?: string;
}

/** One result of a write: its position is its record's position in the input. */
export interface MarketoResult {
  status?: string;
  id?: number;
  marketoGUID?: string;
  seq?: number;
  reasons?: { code?: unknown; message?: unknown }[];
}

export interface MarketoEnvelope {
  requestId?: string;
  success?: boolean;
  result?: unknown[];
  errors?: { code?: unknown; message?: unknown }[];
}

// Marketo's Sync Leads may take 90 s, its other syncs and deletes 60 s; past that the call is an outage.
const CALL_TIMEOUT_MS = 100_000;
// 601 or 602 once more than this after the token was issued: not a lifetime problem but a revoked service.
const TOKEN_CODES = new Set(['601', '602']);

export class MarketoClient {
  private readonly http: AxiosInstance;
  private token?: { value: string; expiresAt: number };
  /** Token requests made (they are not REST calls: Marketo counts them toward no limit). */
  tokenRequests = 0;

  constructor(
    private readonly connection: MarketoConnection,
    private readonly options: { signal?: () => AbortSignal | undefined; now?: () => number } = {},
  ) {
    const ca = connection.ca;
    this.http = axios.create({
      // A connection per call: the budget leaves connections idle for up to 20 s between bursts, longer than
      // servers keep them (Node's 5 s), and a call sent on one the server is closing fails with ECONNRESET.
      // Calls are a few a second at most, so the handshakes cost nothing that matters.
      httpsAgent: new https.Agent({ keepAlive: false, ...(ca ? { ca: [...tls.rootCertificates, ca] } : {}) }),
      validateStatus: () => true,
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      timeout: CALL_TIMEOUT_MS,
      maxRedirects: 0,
      proxy: false,
    });
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /**
   * One REST call (`path` under /rest/v1/). On 601 or 602 the token is renewed and the call repeated once;
   * any other response-level error is thrown as a MarketoError.
   */
  async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<MarketoEnvelope> {
    const first = await this.send(method, path, body);
    if (first.success === false && TOKEN_CODES.has(String(first.errors?.[0]?.code))) {
      this.token = undefined;
      const again = await this.send(method, path, body);
      if (again.success === false) throw responseError(path, again.errors ?? []);
      return again;
    }
    if (first.success === false) throw responseError(path, first.errors ?? []);
    return first;
  }

  private async send(method: 'GET' | 'POST', path: string, body: unknown): Promise<MarketoEnvelope> {
    const token = await this.accessToken();
    const response = await this.request({
      method,
      url: `${this.connection.url}/rest/v1/${path}`,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      data: body === undefined ? undefined : JSON.stringify(body),
      what: path,
    });
    return parseEnvelope(response.status, response.data, path);
  }

  /** The held token while it lives; otherwise a new one (Marketo returns the same one until it expires). */
  async accessToken(): Promise<string> {
    if (this.token !== undefined && this.now() < this.token.expiresAt) return this.token.value;
    const query = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.connection.clientId,
      client_secret: this.connection.clientSecret,
    });
    this.tokenRequests += 1;
    const response = await this.request({
      method: 'GET',
      url: `${this.connection.url}/identity/oauth/token?${query.toString()}`,
      headers: {},
      what: 'identity/oauth/token',
    });
    if (response.status === 401 || response.status === 400)
      throw new MarketoError(
        'permanent',
        'BAD_CREDENTIALS',
        `Marketo refused MARKETO_CLIENT_ID and MARKETO_CLIENT_SECRET (HTTP ${response.status}): check the LaunchPoint custom service`,
      );
    if (response.status >= 500)
      throw new MarketoError(
        'retryable',
        `HTTP ${response.status}`,
        `Marketo token endpoint answered ${response.status}`,
      );
    const answer = safeJson(response.data) as { access_token?: unknown; expires_in?: unknown } | undefined;
    if (typeof answer?.access_token !== 'string' || typeof answer.expires_in !== 'number')
      throw new MarketoError(
        'permanent',
        'BAD_TOKEN_RESPONSE',
        `Marketo token endpoint answered HTTP ${response.status} without a token`,
      );
    this.token = { value: answer.access_token, expiresAt: this.now() + answer.expires_in * 1000 };
    return answer.access_token;
  }

  /** An HTTP exchange; a network failure is retryable, and its message never carries the URL (the secret). */
  private async request(options: {
    method: 'GET' | 'POST';
    url: string;
    headers: Record<string, string>;
    data?: string;
    what: string;
  }): Promise<{ status: number; data: string }> {
    try {
      const response = await this.http.request<string>({
        method: options.method,
        url: options.url,
        headers: options.headers,
        data: options.data,
        signal: this.options.signal?.(),
      });
      return { status: response.status, data: response.data };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new MarketoError(
        'retryable',
        'NETWORK',
        `Marketo ${options.what}: ${typeof code === 'string' ? code : 'network error'}`,
      );
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseEnvelope(status: number, data: string, path: string): MarketoEnvelope {
  if (status >= 500)
    throw new MarketoError('retryable', `HTTP ${status}`, `Marketo answered HTTP ${status} on ${path}`);
  if (status === 413)
    throw new MarketoError('permanent', 'HTTP 413', `Marketo refused a body over 1 MB on ${path}`);
  if (status !== 200)
    throw new MarketoError('permanent', `HTTP ${status}`, `Marketo answered HTTP ${status} on ${path}`);
  const envelope = safeJson(data);
  if (typeof envelope !== 'object' || envelope === null)
    throw new MarketoError(
      'retryable',
      'BAD_RESPONSE',
      `Marketo answered ${path} with a body that is not JSON`,
    );
  return envelope;
}
