/** Marketo's response envelope, its request ids, and the error messages the emulator answers with. */
import { randomBytes } from 'node:crypto';
import type { SkipReason } from './types';

/** Response-level messages as ERR words them. */
export const MESSAGES: Record<string, string> = {
  '500': 'Internal Server error',
  '502': 'Bad Gateway',
  '601': 'Access token invalid',
  '602': 'Access token expired',
  '603': 'Access denied',
  '604': 'Request time-out',
  '605': 'HTTP Method not supported',
  '606': 'Max rate limit %s exceeded with in %s secs',
  '607': 'Daily quota reached',
  '608': 'API Temporarily Unavailable',
  '609': 'Invalid JSON',
  '610': 'Requested resource not found',
  '611': 'System error',
  '612': 'Invalid Content Type',
  '614': 'Invalid Subscription',
  '615': 'Concurrent access limit reached',
  '701': '%s cannot be blank',
  '713': 'Transient Error',
  '1003': 'Invalid data',
};

/** ERR's starred codes: a call answered with one of them counts toward neither the quota nor the rate. */
export const FREE_CODES: ReadonlySet<string> = new Set(['601', '602', '604', '605', '608', '611']);

/** `hex#hex`, the shape of ERR's examples (e.g. `e42b#14272d07d78`). */
export function requestId(): string {
  return `${randomBytes(2).toString('hex')}#${Date.now().toString(16)}`;
}

/** A response-level failure: the whole call is refused and nothing is executed. */
export class MarketoCallError extends Error {
  override readonly name = 'MarketoCallError';
  constructor(
    readonly code: string,
    message: string = MESSAGES[code] ?? 'Error',
  ) {
    super(message);
  }
}

export interface Envelope {
  requestId: string;
  success: boolean;
  result?: unknown[];
  errors?: { code: string; message: string }[];
  moreResult?: boolean;
  nextPageToken?: string;
}

export function success(result: unknown[], paging: { moreResult?: boolean; nextPageToken?: string } = {}) {
  const envelope: Envelope = { requestId: requestId(), success: true, result };
  if (paging.moreResult) {
    envelope.moreResult = true;
    envelope.nextPageToken = paging.nextPageToken;
  }
  return envelope;
}

export function failure(code: string, message: string = MESSAGES[code] ?? 'Error'): Envelope {
  return { requestId: requestId(), success: false, errors: [{ code, message }] };
}

/** Record-level reasons (ERR §3.2); each builder fills the message's '%s'. */
export const reasons = {
  invalidValue: (value: unknown, type: string): SkipReason => ({
    code: '1001',
    message: `Invalid value '${typeof value === 'string' ? value : JSON.stringify(value)}'. Required of type '${type}'`,
  }),
  missing: (field: string): SkipReason => ({
    code: '1002',
    message: `Missing value for the required parameter '${field}'`,
  }),
  invalid: (detail: string): SkipReason => ({ code: '1003', message: `Invalid data: ${detail}` }),
  leadNotFound: (): SkipReason => ({ code: '1004', message: 'Lead not found' }),
  leadExists: (): SkipReason => ({ code: '1005', message: 'Lead already exists' }),
  fieldNotFound: (field: string): SkipReason => ({ code: '1006', message: `Field '${field}' not found` }),
  multipleLeads: (): SkipReason => ({ code: '1007', message: 'Multiple leads match the lookup criteria' }),
  notFound: (detail = 'Object not found'): SkipReason => ({ code: '1013', message: detail }),
  exists: (): SkipReason => ({ code: '1017', message: 'Object already exists' }),
  crmEnabled: (): SkipReason => ({ code: '1018', message: 'CRM Enabled' }),
  companyUpdate: (): SkipReason => ({ code: '1021', message: 'Company update not allowed' }),
  inUse: (detail: string): SkipReason => ({ code: '1022', message: `Object in use: ${detail}` }),
  duplicate: (): SkipReason => ({ code: '1036', message: 'Duplicate object found in input' }),
};

export function skipped(reason: SkipReason, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...extra, status: 'skipped', reasons: [reason] };
}
