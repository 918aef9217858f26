import { DynamicsError } from './errors';
import { bodyText, type HttpResult } from './http-agent';

const UNKNOWN_COLUMN = '0x80060888';
const CHANGE_TOKEN_EXPIRED = '0x80044352';

/** `{"error":{"code","message"}}` of a failed Web API response, when the body has one. */
export function dataverseErrorOf(text: string): { code?: string; message?: string } {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const code = body.error?.code;
    const message = body.error?.message;
    return {
      ...(typeof code === 'string' && code !== '' ? { code } : {}),
      ...(typeof message === 'string' ? { message } : {}),
    };
  } catch {
    return {};
  }
}

/** A request line for messages: no query string beyond 200 characters (In lists are huge). */
export function describeRequest(method: string, url: string): string {
  return `${method} ${url.length > 200 ? `${url.slice(0, 197)}...` : url}`;
}

/** The DynamicsError for a non-2xx Web API response (401 and 429 are handled before this by the transport). */
export function errorForResponse(result: HttpResult, request: string): DynamicsError {
  const { status } = result;
  const body = bodyText(result);
  const { code, message } = dataverseErrorOf(body);
  const reason = `${code ?? 'no error code'}: ${message ?? (body.slice(0, 200) || 'empty body')}`;
  const details = { status, ...(code !== undefined ? { dataverseCode: code } : {}) };
  const text = `Dataverse ${status} ${reason} (${request})`;

  // The Dataverse code decides first: the HTTP status of these two is only believed to be 400.
  if (code === UNKNOWN_COLUMN) {
    const column = /property named '([^']+)'/.exec(message ?? '')?.[1];
    const what = column !== undefined ? `Unknown column '${column}'` : 'Unknown column';
    return new DynamicsError('UNKNOWN_COLUMN', `${what}: ${text}`, details);
  }
  if (code === CHANGE_TOKEN_EXPIRED || /version stamp .*expired/i.test(message ?? '')) {
    return new DynamicsError(
      'CHANGE_TOKEN_EXPIRED',
      `Change-tracking token expired, a full read is needed: ${text}`,
      details,
    );
  }
  if (
    status >= 400 &&
    status < 500 &&
    /change tracking/i.test(message ?? '') &&
    /not enabled|disabled/i.test(message ?? '')
  ) {
    return new DynamicsError('CHANGE_TRACKING_DISABLED', text, details);
  }
  if (status === 401) return new DynamicsError('UNAUTHORIZED', text, details);
  if (status === 403) return new DynamicsError('FORBIDDEN', text, details);
  if (status === 404) return new DynamicsError('NOT_FOUND', text, details);
  if (status === 429) return new DynamicsError('THROTTLED', text, details);
  if (status >= 500 || status === 408) return new DynamicsError('SERVER_ERROR', text, details);
  return new DynamicsError('BAD_REQUEST', text, details);
}
