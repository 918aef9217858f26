import type { SyncConfig } from '../config';
import type { DynamicsClient } from '../dynamics';
import { fail, pass, reason, skip, type Check } from './check';

const SELECTED = 'selected columns (SYNC_OPPORTUNITY_FIELDS)';
const FILTER = 'filter column (SYNC_FILTER_ATTRIBUTE)';
export const COLUMN_CHECK_NAMES: readonly string[] = [SELECTED, FILTER];
// Lookup columns are read as `_<name>_value`: their logical name alone is no property of the Web API's rows.
const LOOKUP_TYPES = new Set(['Lookup', 'Customer', 'Owner']);
const LOOKUP_VALUE = /^_(.+)_value$/;

/** The problem with one selected column, or undefined when the sync can read it as configured. */
function selectedProblem(column: string, types: Map<string, string>): string | undefined {
  const lookup = LOOKUP_VALUE.exec(column)?.[1];
  if (lookup !== undefined) {
    const type = types.get(lookup);
    if (type === undefined) return `${column}: opportunity has no column '${lookup}'`;
    return LOOKUP_TYPES.has(type)
      ? undefined
      : `${column}: '${lookup}' is ${type}, not a lookup (select it as ${lookup})`;
  }
  const type = types.get(column);
  if (type === undefined) return `opportunity has no column '${column}'`;
  return LOOKUP_TYPES.has(type) ? `${column} is a ${type} column: select it as _${column}_value` : undefined;
}

function describe(columns: readonly string[], types: Map<string, string>): string {
  return columns
    .map((column) => `${column} (${types.get(LOOKUP_VALUE.exec(column)?.[1] ?? column) ?? '?'})`)
    .join(', ');
}

type Types = Map<string, string> | { error: unknown };

const METADATA_FIX = 'check DYNAMICS_URL and that the organisation answers';

function selectedCheck(columns: readonly string[], types: Types | undefined): Check {
  if (columns.length === 0 || types === undefined) return skip(SELECTED, 'not configured: no extra columns');
  if (!(types instanceof Map)) return fail(SELECTED, reason(types.error), METADATA_FIX);
  const problems = columns.flatMap((column) => selectedProblem(column, types) ?? []);
  if (problems.length === 0) return pass(SELECTED, describe(columns, types));
  return fail(
    SELECTED,
    problems.join('; '),
    'correct SYNC_OPPORTUNITY_FIELDS: logical names as the column properties show them ' +
      '(Power Apps: Tables > Opportunity > Columns), lookups as _<name>_value',
  );
}

function filterCheck(column: string | undefined, types: Types | undefined): Check {
  if (column === undefined || types === undefined)
    return skip(FILTER, 'not configured: every opportunity syncs');
  if (!(types instanceof Map)) return fail(FILTER, reason(types.error), METADATA_FIX);
  const type = types.get(column);
  if (type === 'Boolean') return pass(FILTER, `${column} (Boolean: Two Options)`);
  return fail(
    FILTER,
    type === undefined
      ? `opportunity has no column '${column}'`
      : `${column} is ${type}, not a Two Options (Boolean) column`,
    'set SYNC_FILTER_ATTRIBUTE to a Two Options column of opportunity (e.g. new_synctomkto), or unset it',
  );
}

/**
 * The user's extra columns and the sync filter column exist on opportunity with types the sync can use, from
 * the table's metadata (one request for both checks, none when neither is configured).
 */
export async function checkColumns(client: DynamicsClient, sync: SyncConfig): Promise<Check[]> {
  const wanted = sync.opportunityFields.length > 0 || sync.filterAttribute !== undefined;
  const types: Types | undefined = wanted
    ? await client.attributeTypes('opportunity').catch((error: unknown) => ({ error }))
    : undefined;
  return [selectedCheck(sync.opportunityFields, types), filterCheck(sync.filterAttribute, types)];
}
