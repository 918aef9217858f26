import { redact } from './redact';

export type DynamicsErrorCode =
  | 'THROTTLED'
  | 'SERVER_ERROR'
  | 'NETWORK'
  | 'BAD_CREDENTIALS'
  | 'FORBIDDEN'
  | 'UNAUTHORIZED'
  | 'UNKNOWN_COLUMN'
  | 'BAD_REQUEST'
  | 'CHANGE_TOKEN_EXPIRED'
  | 'NOT_FOUND'
  | 'INVALID_RESPONSE'
  | 'INVALID_ID'
  | 'CHANGE_TRACKING_DISABLED';

// Transient conditions: Temporal's retry policy may try again. Everything else is a broken setup or bad input
// that no retry can fix.
const RETRYABLE_CODES: ReadonlySet<DynamicsErrorCode> = new Set([
  'THROTTLED',
  'SERVER_ERROR',
  'NETWORK',
  'INVALID_RESPONSE',
]);

export interface DynamicsErrorDetails {
  retryable?: boolean;
  status?: number;
  dataverseCode?: string;
  retryAfterMs?: number;
}

/**
 * The one error type of the Dataverse client. Check it by `name === 'DynamicsError'` and `code`, not
 * `instanceof` (classes differ across the workflow sandbox and jest). The message is redacted on construction.
 */
export class DynamicsError extends Error {
  override readonly name = 'DynamicsError';
  readonly code: DynamicsErrorCode;
  readonly retryable: boolean;
  readonly status?: number;
  readonly dataverseCode?: string;
  readonly retryAfterMs?: number;

  constructor(code: DynamicsErrorCode, message: string, details: DynamicsErrorDetails = {}) {
    super(redact(message));
    this.code = code;
    this.retryable = details.retryable ?? RETRYABLE_CODES.has(code);
    if (details.status !== undefined) this.status = details.status;
    if (details.dataverseCode !== undefined) this.dataverseCode = details.dataverseCode;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
  }
}

/** True for a DynamicsError (by name, so it also works across module copies). */
export function isDynamicsError(error: unknown): error is DynamicsError {
  return error instanceof Error && error.name === 'DynamicsError' && 'code' in error;
}

/** The message of any thrown value with bearer tokens, secrets and passwords stripped. */
export function toSafeMessage(error: unknown): string {
  if (error instanceof Error) return redact(error.message);
  if (typeof error === 'string') return redact(error);
  try {
    return redact(JSON.stringify(error) ?? String(error));
  } catch {
    return 'unknown error';
  }
}
