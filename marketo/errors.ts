/**
 * Marketo's answers sorted by what the push does about them (SPEC section 7, rule 4). Checked by name and
 * `kind`, not instanceof, like DynamicsError.
 */
export type MarketoErrorKind =
  /** 606, 615: another call waits out the shared back-off, then the same call is sent again. */
  | 'throttled'
  /** 607: the day's quota is used; the push stops, what is left stays queued for a later run. */
  | 'quota'
  /** 604, 608, 611, 713, 5xx, network: Temporal retries the activity with back-off. */
  | 'retryable'
  /** 401 on the token, 603, 610, native CRM sync, bad requests: the run fails with what to do. */
  | 'permanent';

export class MarketoError extends Error {
  override readonly name = 'MarketoError';
  constructor(
    readonly kind: MarketoErrorKind,
    /** Marketo's code ('606', '1018'), or 'HTTP 502', 'NETWORK', 'BAD_CREDENTIALS'. */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function isMarketoError(error: unknown): error is MarketoError {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'MarketoError';
}

/** What to do about each documented response-level code that is not a success. */
const HINTS: Record<string, { kind: MarketoErrorKind; hint: string }> = {
  '603': {
    kind: 'permanent',
    hint: "give the API-only user's role Read-Write Lead, Company and Opportunity permissions, and check the instance's IP allowlist",
  },
  '610': {
    kind: 'permanent',
    hint: 'check that MARKETO_REST_URL is the instance base (https://<munchkin>.mktorest.com) shown in Admin > Web Services',
  },
  '1018': {
    kind: 'permanent',
    hint: 'native CRM sync (Dynamics or Salesforce) is enabled on this Marketo instance: it owns companies, opportunities and roles, which cannot be written over REST. Push to an instance without native CRM sync, or unset MARKETO_REST_URL',
  },
  '606': { kind: 'throttled', hint: 'rate limit: every worker waits, then sends again' },
  '615': { kind: 'throttled', hint: 'concurrency limit: every worker waits, then sends again' },
  '607': {
    kind: 'quota',
    hint: "daily quota reached: the rest is sent by the first run after Marketo's reset",
  },
  '604': { kind: 'retryable', hint: 'request timed out' },
  '608': { kind: 'retryable', hint: 'API temporarily unavailable' },
  '611': { kind: 'retryable', hint: 'system error' },
  '614': { kind: 'retryable', hint: 'subscription temporarily unreachable' },
  '713': { kind: 'retryable', hint: 'transient error' },
};

/** A response-level error (`success: false`) as a MarketoError: its code, Marketo's message and what to do. */
export function responseError(
  path: string,
  errors: readonly { code?: unknown; message?: unknown }[],
): MarketoError {
  const first = errors[0] ?? {};
  const code = codeOf(first.code) || 'unknown';
  const message = typeof first.message === 'string' ? first.message : '';
  const known = HINTS[code];
  // 5xx codes in the envelope are outages; any other undocumented code is a request Marketo will not take.
  const kind = known?.kind ?? (/^5\d\d$/.test(code) ? 'retryable' : 'permanent');
  return new MarketoError(
    kind,
    code,
    `Marketo ${code} ${message} on ${path}${known ? `: ${known.hint}` : ''}`,
  );
}

/** Marketo's codes are quoted numbers ("606"), its warnings' plain ones: either as text, '' for anything else. */
export function codeOf(code: unknown): string {
  return typeof code === 'string' || typeof code === 'number' ? String(code) : '';
}

/** The message for a push stopped by native CRM sync, also when Marketo says so record by record. */
export function nativeCrmSyncError(path: string): MarketoError {
  return responseError(path, [{ code: '1018', message: 'CRM Enabled' }]);
}
