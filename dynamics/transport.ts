import { AsyncLocalStorage } from 'node:async_hooks';
import type { AxiosInstance } from 'axios';
import type { TokenProvider, AccessToken } from './auth';
import { backoffGateFor, parseRetryAfter, type BackoffGate, type SharedHold } from './backoff-gate';
import { DynamicsError, isDynamicsError, toSafeMessage } from './errors';
import { plainHeaders, readBody, type HttpResult } from './http-agent';
import { describeRequest, errorForResponse } from './response-errors';

/** Times one request may be repeated after a 429 before THROTTLED is thrown to the retry policy. */
export const MAX_THROTTLED_REPEATS = 5;
// Used only when a 429 carries no readable Retry-After (Dataverse always sends one).
const DEFAULT_RETRY_AFTER_MS = 5000;
// Timers and clocks are coarse: waiting a little past Retry-After guarantees the repeat is not early.
const RETRY_AFTER_MARGIN_MS = 50;

/**
 * Requests counted per piece of work rather than per process: work running side by side (a page being
 * resolved while the next one is read ahead) each learns exactly how many requests it sent.
 */
const requestTally = new AsyncLocalStorage<{ requests: number }>();

/** Runs `work` and counts the Web API requests it sends (work it starts in its own tally is not counted). */
export async function tallyRequests<T>(work: () => Promise<T>): Promise<{ value: T; requests: number }> {
  const tally = { requests: 0 };
  const value = await requestTally.run(tally, work);
  return { value, requests: tally.requests };
}

/** Hears every request sent and every 429 answered (the worker's metrics); called once each, cheaply. */
export interface TransportObserver {
  requestSent(): void;
  throttled(): void;
}

export interface WebApiRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/**
 * Sends requests to the Web API: bearer token, service-protection waits (429 → wait Retry-After and repeat
 * that request) and one token renewal on 401. Every other failure is thrown as a DynamicsError; retrying
 * those is Temporal's job, not this class's.
 */
export class WebApiTransport {
  requestCount = 0;
  /** The process-wide back-off for this org. */
  private readonly gate: BackoffGate;
  /** Where this client shares the back-off with other workers (see DynamicsClient.shareBackoff). */
  shared: SharedHold | undefined;

  constructor(
    orgUrl: string,
    private readonly http: AxiosInstance,
    private readonly tokens: TokenProvider,
    private readonly timeoutMs: number,
    private readonly onWait: ((reason: string) => void) | undefined,
    private readonly signal: (() => AbortSignal | undefined) | undefined = undefined,
    private readonly observer: TransportObserver | undefined = undefined,
  ) {
    this.gate = backoffGateFor(orgUrl);
  }

  /** Sends the request and returns its 2xx response; throws a DynamicsError otherwise. */
  async send(request: WebApiRequest): Promise<HttpResult> {
    const described = describeRequest(request.method, request.url);
    let token = await this.tokens.get();
    let renewed = false;
    for (let throttled = 0; ;) {
      await this.gate.waitUntilOpen(this.onWait, this.shared);
      const result = await this.sendOnce(request, token, described);
      if (result.status === 429) {
        this.observer?.throttled();
        const retryAfterMs = parseRetryAfter(result.headers['retry-after'], DEFAULT_RETRY_AFTER_MS);
        this.hold(retryAfterMs + RETRY_AFTER_MARGIN_MS);
        throttled += 1;
        if (throttled > MAX_THROTTLED_REPEATS) {
          const error = errorForResponse(result, described);
          throw new DynamicsError(
            'THROTTLED',
            `Still throttled after ${MAX_THROTTLED_REPEATS} waits: ${error.message}`,
            {
              status: 429,
              retryAfterMs,
              ...(error.dataverseCode !== undefined ? { dataverseCode: error.dataverseCode } : {}),
            },
          );
        }
        continue;
      }
      if (result.status === 401) {
        // An expired or revoked token: renew once and repeat; a second 401 means the identity lacks access.
        if (renewed) throw errorForResponse(result, described);
        token = await this.tokens.renew(token);
        renewed = true;
        continue;
      }
      if (result.status >= 200 && result.status < 300) return result;
      throw errorForResponse(result, described);
    }
  }

  /** Holds every request of this org until `ms` have passed (a 429 inside a $batch part). */
  holdFor(ms: number): void {
    this.observer?.throttled();
    this.hold(ms + RETRY_AFTER_MARGIN_MS);
  }

  /** Holds the org's gate and publishes the hold, if it moved, where the other workers read it. */
  private hold(ms: number): void {
    const openAt = this.gate.holdFor(ms);
    if (openAt !== undefined) this.shared?.publish(openAt);
  }

  /**
   * One exchange, repeated once at once when it failed on a kept-alive socket the server had just closed: Node
   * documents this race (`http.ClientRequest.reusedSocket`) and its remedy, sending again on a new socket. Every
   * request here is a read (a GET, or a $batch of GETs), so sending it again changes nothing.
   */
  private async sendOnce(request: WebApiRequest, token: AccessToken, described: string): Promise<HttpResult> {
    try {
      try {
        return await this.exchange(request, token);
      } catch (error) {
        if (!isStaleSocketReset(error)) throw error;
        return await this.exchange(request, token);
      }
    } catch (error) {
      if (isDynamicsError(error)) throw error;
      const code = (error as { code?: unknown }).code;
      const what = typeof code === 'string' ? `${code} ` : '';
      // Only the code and message of the axios error: its config holds the Authorization header.
      throw new DynamicsError(
        'NETWORK',
        `Dataverse request failed: ${what}${toSafeMessage(error)} (${described})`,
      );
    }
  }

  private async exchange(request: WebApiRequest, token: AccessToken): Promise<HttpResult> {
    this.requestCount += 1;
    this.observer?.requestSent();
    const tally = requestTally.getStore();
    if (tally !== undefined) tally.requests += 1;
    const startedAt = Date.now();
    const response = await this.http.request({
      method: request.method,
      url: request.url,
      headers: {
        Accept: 'application/json',
        'OData-MaxVersion': '4.0',
        'OData-Version': '4.0',
        ...request.headers,
        Authorization: `Bearer ${token.token}`,
      },
      data: request.body,
      timeout: this.timeoutMs,
      signal: this.signal?.(),
    });
    const body = await readBody(response, { timeoutMs: this.timeoutMs, startedAt });
    return { status: response.status, headers: plainHeaders(response), body };
  }
}

/** A connection reset on a socket kept alive from an earlier request, before any answer (see sendOnce). */
function isStaleSocketReset(error: unknown): boolean {
  const { code, request, response } = error as {
    code?: unknown;
    request?: { reusedSocket?: boolean };
    response?: unknown;
  };
  return code === 'ECONNRESET' && request?.reusedSocket === true && response === undefined;
}
