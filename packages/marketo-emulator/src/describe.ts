/** Describe answers (LDB §5.5, S-MAPI `ObjectMetaData`, `LeadAttribute2`), built from the schemas. */
import type { FieldDef, ObjectSchema } from './schema';
import type { MarketoRecord } from './types';

/** A fixed date: the describe's own createdAt/updatedAt do not change while the emulator runs. */
const SCHEMA_DATE = '2024-01-01T00:00:00Z';

function fieldEntry(field: FieldDef): MarketoRecord {
  return {
    name: field.name,
    displayName: field.displayName,
    dataType: field.dataType,
    ...(field.length === undefined ? {} : { length: field.length }),
    updateable: field.updateable,
    crmManaged: false,
  };
}

/** Describe Company / Opportunity / Opportunity Role. */
export function describeObject(schema: ObjectSchema, schemas: Record<string, ObjectSchema>): MarketoRecord {
  return {
    name: schema.name,
    displayName: schema.displayName,
    pluralName: schema.pluralName,
    description: `${schema.displayName} (Marketo emulator)`,
    createdAt: SCHEMA_DATE,
    updatedAt: SCHEMA_DATE,
    idField: schema.idField,
    dedupeFields: schema.dedupeFields,
    searchableFields: schema.searchableFields,
    relationships: schema.references.map((reference) => ({
      field: reference.field,
      type: 'parent',
      relatedTo: { name: schemas[reference.object]?.name ?? reference.object, field: reference.by },
    })),
    fields: schema.fields.map(fieldEntry),
  };
}

/** Describe Lead2: searchable fields and field entries (no dedupeFields: Describe Leads has none, LDB). */
export function describeLead2(schema: ObjectSchema): MarketoRecord {
  return {
    name: schema.name,
    searchableFields: schema.searchableFields,
    fields: schema.fields.map(fieldEntry),
  };
}

/** The older Describe Lead: one entry per field with its REST and SOAP names. */
export function describeLead(schema: ObjectSchema): MarketoRecord[] {
  return schema.fields.map((field, i) => ({
    id: i + 1,
    displayName: field.displayName,
    dataType: field.dataType,
    ...(field.length === undefined ? {} : { length: field.length }),
    rest: { name: field.name, readOnly: !field.updateable },
    soap: { name: field.name.charAt(0).toUpperCase() + field.name.slice(1), readOnly: !field.updateable },
  }));
}
