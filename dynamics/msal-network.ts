import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import type { AxiosInstance } from 'axios';
import { plainHeaders, readBody } from './http-agent';
import { decodeBody } from './http-agent';
import { toSafeMessage } from './errors';

/**
 * msal's `system.networkClient`, built on the client's axios instance (so the optional CA applies to
 * discovery and token calls). msal turns any exception thrown here into a bare "network_error", so the last
 * failure is kept for the token provider to put a useful (redacted) reason in its error.
 */
export class MsalAxiosNetwork implements INetworkModule {
  lastFailure: string | undefined;

  constructor(
    private readonly http: AxiosInstance,
    private readonly timeoutMs: number,
  ) {}

  sendGetRequestAsync<T>(
    url: string,
    options?: NetworkRequestOptions,
    timeout?: number,
  ): Promise<NetworkResponse<T>> {
    return this.send<T>('GET', url, options, timeout);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>('POST', url, options);
  }

  private async send<T>(
    method: 'GET' | 'POST',
    url: string,
    options: NetworkRequestOptions | undefined,
    timeout?: number,
  ): Promise<NetworkResponse<T>> {
    this.lastFailure = undefined;
    let response;
    let text: string;
    const startedAt = Date.now();
    const requestTimeoutMs = timeout ?? this.timeoutMs;
    try {
      response = await this.http.request({
        method,
        url,
        headers: options?.headers ?? {},
        data: method === 'POST' ? (options?.body ?? '') : undefined,
        timeout: requestTimeoutMs,
      });
      text = decodeBody(await readBody(response, { timeoutMs: requestTimeoutMs, startedAt }));
    } catch (error) {
      this.lastFailure = `${method} ${new URL(url).origin}${new URL(url).pathname} failed: ${toSafeMessage(error)}`;
      throw error;
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      this.lastFailure = `${method} ${new URL(url).pathname} answered HTTP ${response.status} with a body that is not JSON`;
      throw new Error(this.lastFailure);
    }
    return { status: response.status, headers: plainHeaders(response), body: body as T };
  }
}
