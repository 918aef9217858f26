import { sleep } from '@temporalio/workflow';
import { opportunitySync as released } from '../../workflows';
import type { SyncWorkflowInput } from '../../workflows';

export { opportunityBackfill, progressQuery } from '../../workflows';

/**
 * A changed build of the workflows, for the worker versioning test: the sync starts a short timer before its
 * first activity. A run's history from the released code (whose first command schedules an activity) cannot
 * replay on it, and a run of this build shows the timer in its history.
 */
export async function opportunitySync(input: SyncWorkflowInput = {}): ReturnType<typeof released> {
  await sleep('1 ms');
  return released(input);
}
