/**
 * The Marketo destination assembled from configuration: the REST client, the shared call budget and the
 * ledger, with each object's describe cached in the store for a day (Marketo's advice), so a run with nothing
 * to send makes no call at all.
 */
import type { MarketoConfig } from '../config';
import type { Describe, FieldSpec } from '../rules';
import { MarketoLedger, type MarketoStore } from '../store';
import { CallBudget, type QuotaUsage } from './budget';
import { MarketoClient, type MarketoConnection } from './client';
import { MarketoError } from './errors';
import type { PushStep } from '../workflows';
import { pendingCounts, type DescribedObject } from './outgoing';
import { pushStep, type PushDependencies, type PushStepResult } from './push';

const DESCRIBE_PATHS: Record<DescribedObject, string> = {
  companies: 'companies/describe.json',
  leads: 'leads/describe2.json',
  opportunities: 'opportunities/describe.json',
  roles: 'opportunities/roles/describe.json',
};
const DESCRIBE_TTL_MS = 86_400_000;

export interface MarketoDestination {
  pushStep(
    step: PushStep,
    full: boolean,
    options?: { signal?: AbortSignal; holder?: string; progress?: (done: PushStepResult) => void },
  ): Promise<PushStepResult>;
  /** One object's describe: from the store's cache while it is a day old at most. */
  describe(object: DescribedObject): Promise<Describe>;
  /** Records a run would create, update and delete per step (reads the store; a describe at most). */
  pending(full: boolean): Promise<Awaited<ReturnType<typeof pendingCounts>>>;
  usage(): Promise<QuotaUsage>;
  quotaReached(reached: boolean): Promise<void>;
  readonly client: MarketoClient;
}

export function createMarketoDestination(options: {
  connection: MarketoConnection;
  config: MarketoConfig;
  store: MarketoStore;
  signal?: () => AbortSignal | undefined;
  now?: () => number;
}): MarketoDestination {
  const { config, store } = options;
  const now = options.now ?? Date.now;
  const client = new MarketoClient(options.connection, { signal: options.signal, now });
  const budget = new CallBudget(store.knex, config, { now });
  const ledger = new MarketoLedger(store.knex);

  async function describe(object: DescribedObject): Promise<Describe> {
    const key = `marketo-describe:${object}`;
    const cached = await store.state.get(key);
    if (cached !== undefined) {
      const parsed = JSON.parse(cached) as { at: number; fields: [string, FieldSpec][] };
      if (now() - parsed.at < DESCRIBE_TTL_MS) return new Map(parsed.fields);
    }
    const slot = await budget.acquire();
    let fields: Map<string, FieldSpec>;
    try {
      fields = await readDescribe(client, object);
    } finally {
      await budget.release(slot, false);
    }
    await store.state.set({ [key]: JSON.stringify({ at: now(), fields: [...fields] }) });
    return fields;
  }

  const dependencies = (
    stepOptions: Pick<PushDependencies, 'progress' | 'signal' | 'holder'> = {},
  ): PushDependencies => ({
    client,
    budget,
    ledger,
    settings: config,
    describe,
    ...stepOptions,
    now: () => new Date(now()),
  });
  return {
    client,
    describe,
    pending: (full) => pendingCounts(dependencies(), full),
    usage: () => budget.usage(),
    quotaReached: (reached) => budget.quotaReached(reached),
    pushStep: (step, full, stepOptions = {}) => pushStep(dependencies(stepOptions), step, full),
  };
}

/**
 * One object's describe, asked of Marketo now (no cache, no budget: the caller's). S-MAPI names a field
 * `apiName`, the documentation's examples `name`.
 */
export async function readDescribe(
  client: MarketoClient,
  object: DescribedObject,
): Promise<Map<string, FieldSpec>> {
  const path = DESCRIBE_PATHS[object];
  const answer = await client.call('GET', path);
  const fields = (answer.result?.[0] as { fields?: unknown } | undefined)?.fields;
  if (!Array.isArray(fields))
    throw new MarketoError('permanent', 'BAD_DESCRIBE', `Marketo's ${path} lists no fields`);
  const described = new Map<string, FieldSpec>();
  for (const field of fields as {
    name?: unknown;
    apiName?: unknown;
    dataType?: unknown;
    length?: unknown;
  }[]) {
    const name = typeof field.name === 'string' ? field.name : field.apiName;
    if (typeof name !== 'string' || typeof field.dataType !== 'string') continue;
    described.set(name, {
      dataType: field.dataType,
      ...(typeof field.length === 'number' ? { length: field.length } : {}),
    });
  }
  return described;
}
