import { patched, proxyActivities } from '@temporalio/workflow';
import type { MarketoActivities } from '../activities';
import { PUSH_STEPS, type MarketoPushSummary, type SyncMode } from './contract';
import { ACTIVITY_OPTIONS } from './opportunity-sync';

// A first push of a large organisation is hours of calls at Marketo's rate; heartbeats (every 5 s) still
// find a killed worker within 30 s, and a retried step resumes from the ledger.
const PUSH_TIMEOUT = '6 hours';

/**
 * After the mirror is written and the run finished: bring Marketo to the mirror's content, one step per
 * object in Marketo's order. Undefined when no Marketo destination is configured (or for a run that began
 * before oppsync pushed to Marketo, whose history has no push).
 */
export async function pushToMarketo(syncId: string, mode: SyncMode): Promise<MarketoPushSummary | undefined> {
  if (!patched('marketo-push')) return undefined;
  // Made here, not at load: this module and opportunity-sync.ts import each other.
  const push = proxyActivities<MarketoActivities>({ ...ACTIVITY_OPTIONS, startToCloseTimeout: PUSH_TIMEOUT });
  const total: MarketoPushSummary = { sent: 0, accepted: 0, skipped: 0, calls: 0, paused: false };
  for (const step of PUSH_STEPS) {
    const done = await push.pushToMarketo.executeWithOptions(
      { ...ACTIVITY_OPTIONS, startToCloseTimeout: PUSH_TIMEOUT, summary: `push ${step} to Marketo` },
      [{ syncId, step, full: mode === 'full' }],
    );
    if (!done.enabled) return undefined;
    total.sent += done.sent;
    total.accepted += done.accepted;
    total.skipped += done.skipped;
    total.calls += done.calls;
    if (done.leftTo !== undefined) break;
    if (done.paused) {
      total.paused = true;
      break;
    }
  }
  return total;
}
