/**
 * A row as the Web API returns it, and the only code that knows the names of its `@…` annotations: everything
 * outside dynamics/ reads a label or a lookup's table through the functions here.
 */
import { DynamicsError } from './errors';
import { describeValue, isGuid, normaliseGuid } from './guid';

/** A row exactly as the Web API returned it, with its annotations. */
export type RawRecord = Record<string, unknown>;

/**
 * The annotations a read can ask for: a column's display label (option sets, money, lookups), and the table a
 * lookup points to (the only way to tell a polymorphic lookup's account from its contact).
 */
export type Annotation = 'formattedValue' | 'lookupLogicalName';

const ANNOTATION_NAMES: Record<Annotation, string> = {
  formattedValue: 'OData.Community.Display.V1.FormattedValue',
  lookupLogicalName: 'Microsoft.Dynamics.CRM.lookuplogicalname',
};

/** Every annotation the rules read. */
export const ALL_ANNOTATIONS: readonly Annotation[] = ['formattedValue', 'lookupLogicalName'];

/** The annotations' names, for `odata.include-annotations`. */
export function annotationNames(annotations: readonly Annotation[]): string[] {
  return annotations.map((annotation) => ANNOTATION_NAMES[annotation]);
}

/** The property of `annotation` on `property` in a row. */
export function annotationProperty(property: string, annotation: Annotation): string {
  return `${property}@${ANNOTATION_NAMES[annotation]}`;
}

/** `customerid` → `_customerid_value`; an already-qualified `_x_value` name is kept. */
export function lookupProperty(attribute: string): string {
  return /^_.+_value$/.test(attribute) ? attribute : `_${attribute}_value`;
}

/** The table a lookup of `record` points to ('account', 'contact', …), when the server said. */
export function lookupLogicalName(record: RawRecord, attribute: string): string | undefined {
  const value = record[annotationProperty(lookupProperty(attribute), 'lookupLogicalName')];
  return typeof value === 'string' ? value : undefined;
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
  return { id: normaliseGuid(value), logicalName: lookupLogicalName(record, property) };
}

/** The display label the server sent for `attribute` (option-set label, formatted money, lookup name). */
export function formattedValue(record: RawRecord, attribute: string): string | undefined {
  for (const property of [attribute, lookupProperty(attribute)]) {
    const value = record[annotationProperty(property, 'formattedValue')];
    if (typeof value === 'string') return value;
  }
  return undefined;
}
