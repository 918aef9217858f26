/**
 * SPEC section 7's checks of `oppsync doctor`: the Marketo token, the describes the push reads, the lead lookup
 * field, whether the API may be written (native CRM sync), and the quota left. Nothing is written: the write
 * check asks Marketo to update a company that cannot exist, which it answers without changing anything.
 */
import type { AppConfig } from '../config';
import {
  CallBudget,
  codeOf,
  isMarketoError,
  MarketoClient,
  readDescribe,
  type MarketoConnection,
} from '../marketo';
import { OPPORTUNITY_FIELDS, type Describe } from '../rules';
import { MarketoStore, readSchemaStatus } from '../store';
import { fail, notChecked, pass, skip, type Check } from './check';

const LOOKUP_TYPES = new Set(['string', 'email', 'integer']);
export const MARKETO_CHECK_NAMES = [
  'Marketo token',
  'Marketo describe',
  'Marketo lead lookup field',
  'Marketo writes (no native CRM sync)',
  'Marketo daily quota',
];

const why = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export async function checkMarketo(
  config: AppConfig,
  connection: MarketoConnection | undefined,
): Promise<Check[]> {
  if (connection === undefined)
    return [skip('Marketo', 'MARKETO_REST_URL is not set: runs write the store only, no push')];
  const client = new MarketoClient(connection);
  try {
    await client.accessToken();
  } catch (error) {
    const checks = [
      fail(
        'Marketo token',
        why(error),
        'check MARKETO_CLIENT_ID and MARKETO_CLIENT_SECRET against the LaunchPoint custom service (Admin > LaunchPoint > View Details)',
      ),
    ];
    return [...checks, ...MARKETO_CHECK_NAMES.slice(1).map((name) => notChecked(name, 'no token'))];
  }
  const checks: Check[] = [pass('Marketo token', `client credentials accepted by ${connection.url}`)];
  let leads: Describe;
  let opportunities: Describe;
  try {
    leads = await readDescribe(client, 'leads');
    opportunities = await readDescribe(client, 'opportunities');
    await readDescribe(client, 'companies');
    await readDescribe(client, 'roles');
  } catch (error) {
    checks.push(
      fail(
        'Marketo describe',
        why(error),
        "give the API-only user's role Read-Write Lead, Company and Opportunity permissions",
      ),
      ...MARKETO_CHECK_NAMES.slice(2, 4).map((name) => notChecked(name, 'no describe')),
    );
    return [...checks, await quotaCheck(config)];
  }
  const missing = OPPORTUNITY_FIELDS.filter((field) => !opportunities.has(field));
  const unmapped = config.marketo.opportunityFieldMap.filter(({ field }) => !opportunities.has(field));
  checks.push(
    unmapped.length > 0
      ? fail(
          'Marketo describe',
          `MARKETO_OPPORTUNITY_FIELD_MAP names fields the opportunity describe does not list: ${unmapped.map((m) => m.field).join(', ')}`,
          'create the fields in Marketo (Marketo Support) or correct MARKETO_OPPORTUNITY_FIELD_MAP',
        )
      : pass(
          'Marketo describe',
          `companies, leads, opportunities and roles described${missing.length > 0 ? `; not on this instance, so left out of every opportunity: ${missing.join(', ')}` : ''}`,
        ),
  );
  const lookup = config.marketo.leadLookupField;
  const type = leads.get(lookup)?.dataType;
  checks.push(
    type !== undefined && LOOKUP_TYPES.has(type)
      ? pass(
          'Marketo lead lookup field',
          `${lookup} (${type})${lookup === 'email' ? ': contacts without email are not pushed' : ''}`,
        )
      : fail(
          'Marketo lead lookup field',
          type === undefined ? `the lead describe has no field ${lookup}` : `${lookup} is a ${type} field`,
          `create a custom string lead field ${lookup} (Admin > Field Management), or set MARKETO_LEAD_LOOKUP_FIELD=email`,
        ),
  );
  checks.push(await writeCheck(client));
  return [...checks, await quotaCheck(config)];
}

/** An update of a company that cannot exist: skipped with 1013 where writes are allowed, 1018 under native CRM sync. */
async function writeCheck(client: MarketoClient): Promise<Check> {
  const name = 'Marketo writes (no native CRM sync)';
  try {
    const answer = await client.call('POST', 'companies.json', {
      action: 'updateOnly',
      dedupeBy: 'dedupeFields',
      input: [{ externalCompanyId: 'oppsync-doctor-write-check' }],
    });
    const code = codeOf(
      (answer.result?.[0] as { reasons?: { code?: unknown }[] } | undefined)?.reasons?.[0]?.code,
    );
    if (code === '1018')
      return fail(
        name,
        'the instance has native CRM sync (1018 CRM Enabled): companies, opportunities and roles cannot be written over REST',
        'push to an instance without native Dynamics or Salesforce sync, or unset MARKETO_REST_URL',
      );
    return pass(name, 'companies, opportunities and roles can be written');
  } catch (error) {
    if (isMarketoError(error) && error.code === '1018')
      return fail(name, why(error), 'push to an instance without native CRM sync, or unset MARKETO_REST_URL');
    return fail(
      name,
      why(error),
      "give the API-only user's role Read-Write Company and Opportunity permissions",
    );
  }
}

/** Calls oppsync used today by its own count, read from the store once the store checks would pass. */
async function quotaCheck(config: AppConfig): Promise<Check> {
  const name = 'Marketo daily quota';
  let store: MarketoStore | undefined;
  try {
    // Opened only when it exists and is migrated: the doctor creates no file and no table.
    const schema = await readSchemaStatus(config.storeUrl).catch(() => undefined);
    if (schema === undefined || schema.pending.length > 0) return notChecked(name, 'the store is not ready');
    store = await MarketoStore.open(config.storeUrl);
    const usage = await new CallBudget(store.knex, config.marketo).usage();
    return usage.exhausted
      ? fail(
          name,
          `${usage.used} of ${usage.limit} calls used on ${usage.day} (or Marketo answered 607)`,
          "wait for Marketo's reset at 12:00 AM CST, or raise MARKETO_DAILY_QUOTA if the subscription allows",
        )
      : pass(
          name,
          `${usage.limit - usage.used} of MARKETO_DAILY_QUOTA=${usage.limit} calls left today (${usage.day}, CST)`,
        );
  } catch {
    return pass(
      name,
      `MARKETO_DAILY_QUOTA=${config.marketo.dailyQuota} calls a day; none used yet (the store has no push record)`,
    );
  } finally {
    await store?.close();
  }
}
