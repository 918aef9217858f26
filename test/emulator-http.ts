/** Helpers for the emulator tests: a tiny HTTPS client that trusts the emulator's CA, and an msal network client. */
import { request } from 'node:https';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { EMULATOR_DEFAULTS, type Emulator } from '@oppsync/dataverse-emulator';

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export function httpRequest(
  emulator: Emulator,
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<HttpReply> {
  const target = url.startsWith('https://') ? url : `${emulator.url}${url}`;
  return new Promise((resolve, reject) => {
    const req = request(target, { method, headers, ca: emulator.caPem }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** msal-node network client that trusts the emulator's self-signed certificate. */
export function emulatorNetworkClient(emulator: Emulator): INetworkModule {
  const send = async <T>(
    method: string,
    url: string,
    options?: NetworkRequestOptions,
  ): Promise<NetworkResponse<T>> => {
    const reply = await httpRequest(emulator, method, url, options?.headers ?? {}, options?.body);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(reply.headers))
      if (typeof value === 'string') headers[name] = value;
    return { status: reply.status, headers, body: JSON.parse(reply.text) as T };
  };
  return {
    sendGetRequestAsync: <T>(url: string, options?: NetworkRequestOptions) => send<T>('GET', url, options),
    sendPostRequestAsync: <T>(url: string, options?: NetworkRequestOptions) => send<T>('POST', url, options),
  };
}

/** A client-credentials token straight from the token endpoint. */
export async function clientToken(emulator: Emulator): Promise<string> {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: EMULATOR_DEFAULTS.client.clientId,
    client_secret: EMULATOR_DEFAULTS.client.clientSecret,
    scope: `${emulator.url}/.default`,
  });
  const reply = await httpRequest(
    emulator,
    'POST',
    `/${emulator.tenantId}/oauth2/v2.0/token`,
    { 'Content-Type': 'application/x-www-form-urlencoded' },
    form.toString(),
  );
  return (JSON.parse(reply.text) as { access_token: string }).access_token;
}

export interface WebApiReply<T> extends HttpReply {
  json: T;
}

/** GET on the Web API with a bearer token and an optional Prefer header. */
export async function webGet<T = ODataCollection>(
  emulator: Emulator,
  token: string,
  pathOrUrl: string,
  prefer?: string,
): Promise<WebApiReply<T>> {
  const url = pathOrUrl.startsWith('https://') ? pathOrUrl : `/api/data/v9.2/${pathOrUrl}`;
  const headers: Record<string, string> = {
    Authorization: `Bearer ${token}`,
    Accept: 'application/json',
    'OData-Version': '4.0',
  };
  if (prefer) headers.Prefer = prefer;
  const reply = await httpRequest(emulator, 'GET', url, headers);
  const isJson = String(reply.headers['content-type'] ?? '').startsWith('application/json');
  return { ...reply, json: (isJson && reply.text ? JSON.parse(reply.text) : undefined) as T };
}

export interface ODataCollection {
  '@odata.context': string;
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
  '@odata.count'?: number;
  value: Record<string, unknown>[];
}

export interface ODataErrorBody {
  error: { code: string; message: string };
}

/** Follows nextLinks with the same Prefer header and returns every row and the final deltaLink. */
export async function readAllPages(
  emulator: Emulator,
  token: string,
  path: string,
  prefer: string,
  between?: (page: number) => void,
): Promise<{ rows: Record<string, unknown>[]; pages: number; deltaLink?: string }> {
  const rows: Record<string, unknown>[] = [];
  let next: string | undefined = path;
  let pages = 0;
  let deltaLink: string | undefined;
  while (next) {
    const reply: WebApiReply<ODataCollection> = await webGet(emulator, token, next, prefer);
    if (reply.status !== 200) throw new Error(`page ${pages + 1} answered ${reply.status}: ${reply.text}`);
    rows.push(...reply.json.value);
    pages++;
    next = reply.json['@odata.nextLink'];
    deltaLink = reply.json['@odata.deltaLink'];
    if (next && between) between(pages);
  }
  return { rows, pages, deltaLink };
}
