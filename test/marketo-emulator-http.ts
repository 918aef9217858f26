/** Helpers for the Marketo emulator tests: axios over HTTPS trusting the emulator's CA, a token, REST calls. */
import { Agent } from 'node:https';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type { MarketoEmulator } from '@oppsync/marketo-emulator';

export interface MarketoEnvelope<T = Record<string, unknown>> {
  requestId: string;
  success: boolean;
  result?: T[];
  errors?: { code: string; message: string }[];
  moreResult?: boolean;
  nextPageToken?: string;
}

export interface TokenBody {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

export interface RecordResult {
  seq?: number;
  id?: number;
  marketoGUID?: string;
  status: string;
  reasons?: { code: string; message: string }[];
}

export interface MarketoTestClient {
  http: AxiosInstance;
  token(): Promise<string>;
  post<T = RecordResult>(
    path: string,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<MarketoEnvelope<T>>;
  get<T = Record<string, unknown>>(
    path: string,
    params?: Record<string, string>,
  ): Promise<MarketoEnvelope<T>>;
  /** Codes of each result's first reason ('' for records that were not skipped). */
  codes(envelope: MarketoEnvelope<RecordResult>): string[];
}

export function marketoClient(emulator: MarketoEmulator): MarketoTestClient {
  const http = axios.create({
    baseURL: emulator.url,
    httpsAgent: new Agent({ ca: emulator.caPem }),
    validateStatus: () => true,
  });
  let token: string | undefined;
  const client: MarketoTestClient = {
    http,
    async token() {
      const reply = await http.get<TokenBody>('/identity/oauth/token', {
        params: {
          grant_type: 'client_credentials',
          client_id: emulator.clientId,
          client_secret: emulator.clientSecret,
        },
      });
      token = reply.data.access_token;
      return token;
    },
    async post<T>(path: string, body: unknown, headers: Record<string, string> = {}) {
      const reply: AxiosResponse<MarketoEnvelope<T>> = await http.post(path, body, {
        headers: { Authorization: `Bearer ${token ?? (await client.token())}`, ...headers },
        // A string body is sent as it is (axios would otherwise re-encode text that is not valid JSON).
        ...(typeof body === 'string' ? { transformRequest: [(data: unknown) => data] } : {}),
      });
      return reply.data;
    },
    async get<T>(path: string, params: Record<string, string> = {}) {
      const reply: AxiosResponse<MarketoEnvelope<T>> = await http.get(path, {
        params,
        headers: { Authorization: `Bearer ${token ?? (await client.token())}` },
      });
      return reply.data;
    },
    codes: (envelope) => (envelope.result ?? []).map((item) => item.reasons?.[0]?.code ?? ''),
  };
  return client;
}
