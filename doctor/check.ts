import { toSafeMessage } from '../dynamics';

/**
 * One line of `oppsync doctor`. SKIP is only for a check that does not apply (a flow that is not configured)
 * or that could not run because an earlier one failed ("not checked: …"); that earlier FAIL fails the run.
 */
export interface Check {
  name: string;
  status: 'PASS' | 'FAIL' | 'SKIP';
  detail: string;
  fix?: string;
}

export function pass(name: string, detail: string): Check {
  return { name, status: 'PASS', detail };
}

export function fail(name: string, detail: string, fix: string): Check {
  return { name, status: 'FAIL', detail, fix };
}

export function skip(name: string, detail: string): Check {
  return { name, status: 'SKIP', detail };
}

export function notChecked(name: string, because: string): Check {
  return skip(name, `not checked: ${because}`);
}

/** A thrown value as a check's detail: its message with tokens, secrets and passwords stripped. */
export function reason(error: unknown): string {
  return toSafeMessage(error);
}
