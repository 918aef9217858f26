import { ApplicationFailure } from '@temporalio/activity';
import { isMarketoError } from '../marketo';

interface DynamicsErrorShape {
  name: string;
  code: string;
  retryable: boolean;
  message: string;
  retryAfterMs?: number;
}

function isDynamicsError(error: unknown): error is DynamicsErrorShape {
  // Checked by name, not instanceof: classes differ across bundles and jest module registries.
  return (
    typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'DynamicsError'
  );
}

/** Failure type names for the failures that Temporal sees, e.g. 'DynamicsBadCredentials'. */
export function failureType(code: string): string {
  return (
    'Dynamics' +
    code
      .toLowerCase()
      .split('_')
      .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
      .join('')
  );
}

/**
 * Maps an error at the activity boundary to what Temporal's retry policy needs: permanent errors (bad
 * credentials, 403, unknown column; Marketo's 603, 610 and native CRM sync) fail at once; throttling waits at
 * least the server's Retry-After; outages are retried with the policy's backoff.
 */
export function toActivityFailure(error: unknown): Error {
  if (isMarketoError(error)) {
    const type = error.code === '1018' ? 'MarketoNativeCrmSync' : `Marketo${error.code.replace(/\W/g, '')}`;
    return error.kind === 'permanent'
      ? ApplicationFailure.nonRetryable(error.message, type)
      : ApplicationFailure.retryable(error.message, type);
  }
  if (isDynamicsError(error)) {
    const type = failureType(error.code);
    if (!error.retryable) return ApplicationFailure.nonRetryable(error.message, type);
    if (error.retryAfterMs !== undefined) {
      return ApplicationFailure.create({ message: error.message, type, nextRetryDelay: error.retryAfterMs });
    }
    return ApplicationFailure.retryable(error.message, type);
  }
  if (error instanceof ApplicationFailure) return error;
  // Database drivers put the whole statement, values included, into their messages: keep only the driver's
  // own reason, so contact data never reaches workflow history (retried: a database outage passes).
  const name = error instanceof Error ? error.name : 'Error';
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const reason = (message.split(' - ').pop() ?? message).slice(0, 300);
  return ApplicationFailure.retryable(
    `${name}${typeof code === 'string' ? ` ${code}` : ''}: ${reason}`,
    name,
  );
}

export function isChangeTokenExpired(error: unknown): boolean {
  return isDynamicsError(error) && error.code === 'CHANGE_TOKEN_EXPIRED';
}
