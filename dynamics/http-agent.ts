import https from 'node:https';
import tls from 'node:tls';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  text: string;
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
    // Statuses are mapped by the caller; bodies are parsed by the caller so a truncated body is detectable.
    validateStatus: () => true,
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    maxRedirects: 0,
    maxBodyLength: Infinity,
    maxContentLength: Infinity,
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

export function bodyText(response: AxiosResponse): string {
  const data: unknown = response.data;
  if (typeof data === 'string') return data;
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return data === undefined || data === null ? '' : JSON.stringify(data);
}
