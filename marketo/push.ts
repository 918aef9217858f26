/**
 * One step of the push (SPEC section 7, rule 1): the mirror's records that differ from what Marketo last
 * accepted, sent up to 300 (and 1 MB) a call, several calls in flight, each answer recorded in the ledger as it
 * comes. A step stopped anywhere (a killed worker, a retry) starts again from the ledger: only what Marketo
 * had not acknowledged is sent again, and every write is keyed as Marketo dedupes it, so nothing is doubled.
 */
import type { MarketoRecord, SyncErrorRow } from '../rules';
import type { PushOutcome, PushStep } from '../workflows';
import type { LedgerTable } from '../store';
import type { CallBudget } from './budget';
import type { MarketoClient, MarketoResult } from './client';
import { codeOf, isMarketoError, MarketoError, nativeCrmSyncError } from './errors';
import { outgoing, type Outgoing, type PlanDependencies, type PushSettings } from './outgoing';

export interface PushDependencies extends PlanDependencies {
  client: MarketoClient;
  budget: CallBudget;
  /** Who sends the calls (the activity): a retry of it first ends the calls a killed attempt left in flight. */
  holder?: string;
  /** Called after every answer: the activity's heartbeat. */
  progress?: (done: PushStepResult) => void;
  signal?: AbortSignal;
  now?: () => Date;
}

/** What a step did (the activity adds whether the destination is on, and who else pushes). */
export type PushStepResult = Omit<PushOutcome, 'enabled' | 'leftTo'>;

interface StepSpec {
  path: string;
  table: LedgerTable;
  entity: SyncErrorRow['entity'];
  body: (input: MarketoRecord[]) => Record<string, unknown>;
  deletes: boolean;
}

const upsert = (input: MarketoRecord[]) => ({ action: 'createOrUpdate', dedupeBy: 'dedupeFields', input });
const remove = (input: MarketoRecord[]) => ({ deleteBy: 'dedupeFields', input });

function spec(step: PushStep, settings: PushSettings): StepSpec {
  switch (step) {
    case 'companies':
      return {
        path: 'companies.json',
        table: 'marketo_companies',
        entity: 'marketo:company',
        body: upsert,
        deletes: false,
      };
    case 'leads':
      return {
        path: 'leads.json',
        table: 'marketo_leads',
        entity: 'marketo:lead',
        body: (input) => ({ action: 'createOrUpdate', lookupField: settings.leadLookupField, input }),
        deletes: false,
      };
    case 'opportunities':
      return {
        path: 'opportunities.json',
        table: 'marketo_opportunities',
        entity: 'marketo:opportunity',
        body: upsert,
        deletes: false,
      };
    case 'roles':
      return {
        path: 'opportunities/roles.json',
        table: 'marketo_roles',
        entity: 'marketo:role',
        body: upsert,
        deletes: false,
      };
    case 'roleDeletes':
      return {
        path: 'opportunities/roles/delete.json',
        table: 'marketo_roles',
        entity: 'marketo:role',
        body: remove,
        deletes: true,
      };
    case 'opportunityDeletes':
      return {
        path: 'opportunities/delete.json',
        table: 'marketo_opportunities',
        entity: 'marketo:opportunity',
        body: remove,
        deletes: true,
      };
  }
}

/** Marketo's limits of one call. */
const MAX_RECORDS = 300;
const MAX_BODY_BYTES = 1_000_000; // 1 MB, less room for the envelope around the records

export async function pushStep(
  deps: PushDependencies,
  step: PushStep,
  full: boolean,
): Promise<PushStepResult> {
  if (deps.holder !== undefined) await deps.budget.abandon(deps.holder);
  if (step === 'leads' && deps.settings.leadLookupField === 'email') await recordContactsWithoutEmail(deps);
  const result: PushStepResult = { step, sent: 0, accepted: 0, skipped: 0, calls: 0, paused: false };
  const stepSpec = spec(step, deps.settings);
  const inFlight = new Set<Promise<void>>();
  let failure: Error | undefined;
  const send = async (batch: Outgoing[]): Promise<void> => {
    try {
      await sendBatch(deps, stepSpec, batch, result);
    } catch (error) {
      if (isMarketoError(error) && error.kind === 'quota') result.paused = true;
      else failure ??= error instanceof Error ? error : new Error(String(error));
    }
  };
  let batch: Outgoing[] = [];
  let bytes = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const taken = batch;
    batch = [];
    bytes = 0;
    while (inFlight.size >= deps.settings.maxConcurrent) await Promise.race(inFlight);
    const sending = send(taken).finally(() => inFlight.delete(sending));
    inFlight.add(sending);
  };
  for await (const chunk of outgoing(deps, step, full)) {
    for (const item of chunk) {
      const size = Buffer.byteLength(JSON.stringify(item.record)) + 1;
      if (batch.length === MAX_RECORDS || bytes + size > MAX_BODY_BYTES) await flush();
      batch.push(item);
      bytes += size;
    }
    if (result.paused || failure !== undefined) break;
  }
  if (!result.paused && failure === undefined) await flush();
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
  if (step === 'leads' && !result.paused)
    await deps.ledger.linkLeadIds(deps.settings.leadLookupField === 'email');
  return result;
}

/** Rule 5: leads by email cannot send a contact without one; its sync error names the fix. */
async function recordContactsWithoutEmail(deps: PushDependencies): Promise<void> {
  const { ledger } = deps;
  const withoutEmail = await ledger.contactIdsWithoutEmail();
  await ledger.recordErrors(
    withoutEmail.map((id) => ({
      entity: 'marketo:lead',
      record_id: id,
      error:
        'the contact has no email, which MARKETO_LEAD_LOOKUP_FIELD=email needs: set MARKETO_LEAD_LOOKUP_FIELD to a custom lead field (e.g. dynamicsContactId) to sync contacts without email',
      payload: '{}',
    })),
    timestamp(deps),
  );
}

const timestamp = (deps: PushDependencies): string => (deps.now?.() ?? new Date()).toISOString();

/** One call: a slot of the shared budget, the request, the answers into the ledger. */
async function sendBatch(
  deps: PushDependencies,
  stepSpec: StepSpec,
  batch: Outgoing[],
  result: PushStepResult,
) {
  const answer = await callWithinBudget(deps, stepSpec.path, stepSpec.body(batch.map((item) => item.record)));
  result.calls += 1;
  result.sent += batch.length;
  const results = (answer.result ?? []) as MarketoResult[];
  if (results.length !== batch.length)
    throw new MarketoError(
      'retryable',
      'BAD_RESPONSE',
      `Marketo answered ${results.length} results for ${batch.length} records on ${stepSpec.path}`,
    );
  const now = timestamp(deps);
  const done: Record<string, unknown>[] = [];
  const refused: Outgoing[] = [];
  const reasons: string[] = [];
  let nativeCrm = false;
  results.forEach((answered, index) => {
    const item = batch[index] as Outgoing;
    const reason = answered.reasons?.[0];
    const code = codeOf(reason?.code);
    if (answered.status === 'skipped' && code === '1018') nativeCrm = true;
    const ok = stepSpec.deletes
      ? answered.status === 'deleted' || (answered.status === 'skipped' && code === '1013')
      : answered.status === 'created' || answered.status === 'updated';
    if (ok) {
      done.push({ ...item.key, ...idOf(stepSpec.table, answered), hash: item.hash });
    } else {
      refused.push(item);
      reasons.push(
        `Marketo ${code || answered.status || 'no status'} ${typeof reason?.message === 'string' ? reason.message : ''}`.trim(),
      );
    }
  });
  // Marketo refuses these objects record by record under native CRM sync: nothing to record, stop the push.
  if (nativeCrm) throw nativeCrmSyncError(stepSpec.path);
  if (stepSpec.deletes) await deps.ledger.deleted(stepSpec.table, done);
  else
    await deps.ledger.accepted(
      stepSpec.table,
      done,
      {
        entity: stepSpec.entity,
        recordIds: batch.filter((_, i) => results[i]?.status !== 'skipped').flatMap((item) => item.errorIds),
      },
      now,
    );
  if (refused.length > 0) {
    await deps.ledger.rejected(
      stepSpec.table,
      stepSpec.deletes ? [] : refused.map((item) => ({ ...item.key, rejected_hash: item.hash })),
      refused.flatMap((item, i) =>
        item.errorIds.map((recordId) => ({
          entity: stepSpec.entity,
          record_id: recordId,
          error: reasons[i] ?? 'skipped',
          payload: JSON.stringify(item.record),
        })),
      ),
      now,
    );
  }
  result.accepted += done.length;
  result.skipped += refused.length;
  deps.progress?.(result);
}

function idOf(table: LedgerTable, answered: MarketoResult): Record<string, unknown> {
  return table === 'marketo_companies' || table === 'marketo_leads'
    ? { marketo_id: answered.id ?? null }
    : { marketo_guid: answered.marketoGUID ?? null };
}

/** A throttled call (606, 615) waits out the back-off that every worker shares, then is sent again. */
async function callWithinBudget(deps: PushDependencies, path: string, body: unknown) {
  for (let attempt = 1; ; attempt += 1) {
    const slot = await deps.budget.acquire(deps.signal, deps.holder);
    try {
      const answer = await deps.client.call('POST', path, body);
      await deps.budget.release(slot, false);
      return answer;
    } catch (error) {
      const throttled = isMarketoError(error) && error.kind === 'throttled';
      await deps.budget.release(slot, throttled);
      if (!throttled || attempt >= 30) throw error;
    }
  }
}
