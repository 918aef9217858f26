import { DynamicsError } from './errors';
import { describeValue, isGuid, normaliseGuid } from './guid';

/** A row exactly as the Web API returned it, with its `@…` annotations. */
export type RawRecord = Record<string, unknown>;

const FORMATTED_VALUE = '@OData.Community.Display.V1.FormattedValue';
const LOOKUP_LOGICAL_NAME = '@Microsoft.Dynamics.CRM.lookuplogicalname';

/** `customerid` → `_customerid_value`; an already-qualified `_x_value` name is kept. */
function lookupProperty(attribute: string): string {
  return /^_.+_value$/.test(attribute) ? attribute : `_${attribute}_value`;
}

/**
 * The lookup `attribute` of a record (read from `_<attribute>_value` and its lookuplogicalname annotation),
 * or null when the lookup is empty. Polymorphic lookups (customerid, parentcustomerid) can only be told
 * apart by that annotation, so logicalName is undefined when the server did not send it.
 * Throws INVALID_ID when the value is present but not a GUID, so a caller can file the record as bad data.
 */
export function lookupOf(
  record: RawRecord,
  attribute: string,
): { id: string; logicalName: string | undefined } | null {
  const property = lookupProperty(attribute);
  const value = record[property];
  if (value === null || value === undefined || value === '') return null;
  if (!isGuid(value)) {
    throw new DynamicsError('INVALID_ID', `Lookup ${property} is not a GUID: ${describeValue(value)}`);
  }
  const logicalName = record[`${property}${LOOKUP_LOGICAL_NAME}`];
  return { id: normaliseGuid(value), logicalName: typeof logicalName === 'string' ? logicalName : undefined };
}

/** The display label the server sent for `attribute` (option-set label, formatted money, lookup name). */
export function formattedValue(record: RawRecord, attribute: string): string | undefined {
  for (const property of [attribute, lookupProperty(attribute)]) {
    const value = record[`${property}${FORMATTED_VALUE}`];
    if (typeof value === 'string') return value;
  }
  return undefined;
}
