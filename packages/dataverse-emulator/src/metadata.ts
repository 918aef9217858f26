/**
 * `EntityDefinitions` (enough to read ChangeTrackingEnabled), a table's `Attributes` (logical names and
 * Dataverse's AttributeType of each column) and `WhoAmI`.
 */
import { ODataError, CODES, propertyNotFound, queryError } from './errors';
import { FilterCompiler, parseFilter } from './filter';
import type { QueryAnswer, QueryParams } from './query';
import type { AttributeDef, EntityDef } from './schema';
import type { OrgStore, Row } from './store';
import { seededRandom } from './random';

const metadataIds = seededRandom(99_001);
const METADATA_IDS = new Map<string, string>();

/** A metadata type served as if it were a table, so $select and $filter work on it as on rows. */
function metadataType(name: string, setName: string, attributes: Record<string, AttributeDef>): EntityDef {
  return {
    logicalName: name,
    schemaName: name,
    setName,
    key: 'MetadataId',
    nameAttribute: 'LogicalName',
    attributes: { MetadataId: { type: 'guid' }, LogicalName: { type: 'string' }, ...attributes },
    navigation: {},
    objectTypeCode: 0,
  };
}

const ENTITY_METADATA = metadataType('EntityMetadata', 'EntityDefinitions', {
  SchemaName: { type: 'string' },
  EntitySetName: { type: 'string' },
  PrimaryIdAttribute: { type: 'string' },
  PrimaryNameAttribute: { type: 'string' },
  ObjectTypeCode: { type: 'int' },
  ChangeTrackingEnabled: { type: 'bool' },
});

function metadataRows(store: OrgStore, changeTracking: Record<string, boolean>): Row[] {
  return Object.values(store.schema).map((def) => {
    return {
      MetadataId: metadataIdOf(def.logicalName),
      LogicalName: def.logicalName,
      SchemaName: def.schemaName,
      EntitySetName: def.setName,
      PrimaryIdAttribute: def.key,
      PrimaryNameAttribute: def.nameAttribute,
      ObjectTypeCode: def.objectTypeCode,
      ChangeTrackingEnabled: changeTracking[def.logicalName] ?? false,
    };
  });
}

function pick(row: Row, columns: string[] | null): Record<string, unknown> {
  if (!columns) return { ...row };
  const out: Record<string, unknown> = {};
  for (const name of columns) out[name] = row[name];
  out.MetadataId = row.MetadataId;
  return out;
}

function selectedColumns(params: QueryParams, def: EntityDef): string[] | null {
  const select = params.options.get('$select');
  if (select === undefined) return null;
  const columns = select.split(',').map((name) => name.trim());
  for (const name of columns) if (!def.attributes[name]) throw propertyNotFound(name, def.logicalName);
  return columns;
}

/** Metadata queries take $select and $filter only (and return everything at once: there is no paging). */
function checkOptions(params: QueryParams, setName: string): void {
  for (const name of params.options.keys()) {
    if (name.startsWith('$') && name !== '$select' && name !== '$filter')
      throw queryError(`The query parameter '${name}' is not supported on ${setName}.`);
  }
}

function filtered(store: OrgStore, def: EntityDef, rows: Row[], params: QueryParams): Row[] {
  const filter = params.options.get('$filter');
  if (filter === undefined) return rows;
  const predicate = new FilterCompiler(store, def).compile(parseFilter(filter));
  return rows.filter((row) => predicate(row));
}

/** The table a key segment names: `LogicalName='account'` or its MetadataId. */
function entityRow(rows: Row[], keyText: string): Row {
  const byName = /^LogicalName='([^']*)'$/.exec(keyText);
  const row = rows.find((candidate) =>
    byName ? candidate.LogicalName === byName[1] : candidate.MetadataId === keyText.toLowerCase(),
  );
  if (!row) throw new ODataError(404, CODES.notFound, `Could not find an entity with key '${keyText}'.`);
  return row;
}

export function entityDefinitions(
  store: OrgStore,
  changeTracking: Record<string, boolean>,
  serviceRoot: string,
  keyText: string | undefined,
  params: QueryParams,
): QueryAnswer {
  checkOptions(params, 'EntityDefinitions');
  const columns = selectedColumns(params, ENTITY_METADATA);
  const rows = metadataRows(store, changeTracking);
  const contextSelect = columns ? `(${columns.join(',')})` : '';
  if (keyText !== undefined) {
    return {
      body: {
        '@odata.context': `${serviceRoot}/$metadata#EntityDefinitions${contextSelect}/$entity`,
        ...pick(entityRow(rows, keyText), columns),
      },
      preferenceApplied: [],
    };
  }
  return {
    body: {
      '@odata.context': `${serviceRoot}/$metadata#EntityDefinitions${contextSelect}`,
      value: filtered(store, ENTITY_METADATA, rows, params).map((row) => pick(row, columns)),
    },
    preferenceApplied: [],
  };
}

const ATTRIBUTE_METADATA = metadataType('AttributeMetadata', 'Attributes', {
  EntityLogicalName: { type: 'string' },
  AttributeType: { type: 'string' },
});

const SCALAR_ATTRIBUTE_TYPES: Record<AttributeDef['type'], string> = {
  guid: 'Uniqueidentifier',
  string: 'String',
  memo: 'Memo',
  money: 'Money',
  decimal: 'Decimal',
  int: 'Integer',
  bigint: 'BigInt',
  bool: 'Boolean',
  // Date-only columns are DateTime columns with Format DateOnly.
  date: 'DateTime',
  datetime: 'DateTime',
  optionset: 'Picklist',
  lookup: 'Lookup',
};

/** Dataverse's AttributeType (AttributeTypeCode) of an emulated column. */
export function attributeTypeOf(name: string, attribute: AttributeDef): string {
  if (attribute.type === 'optionset' && name === 'statecode') return 'State';
  if (attribute.type === 'optionset' && name === 'statuscode') return 'Status';
  if (attribute.type === 'lookup' && name === 'ownerid') return 'Owner';
  // A lookup to an account or a contact is a Customer column (customerid, parentcustomerid).
  if (attribute.type === 'lookup' && [...(attribute.targets ?? [])].sort().join() === 'account,contact')
    return 'Customer';
  return SCALAR_ATTRIBUTE_TYPES[attribute.type];
}

/** The @odata.type of an attribute's metadata: one derived type per AttributeType; lookups share one. */
function metadataTypeOf(attributeType: string): string {
  if (['Lookup', 'Customer', 'Owner'].includes(attributeType)) return 'LookupAttributeMetadata';
  if (attributeType === 'Uniqueidentifier') return 'UniqueIdentifierAttributeMetadata';
  return `${attributeType}AttributeMetadata`;
}

function metadataIdOf(key: string): string {
  let id = METADATA_IDS.get(key);
  if (!id) {
    id = metadataIds.guid();
    METADATA_IDS.set(key, id);
  }
  return id;
}

/**
 * `EntityDefinitions(LogicalName='x')/Attributes`: every column of the table as the emulator's schema holds
 * it (custom columns included), typed as Dataverse types them. The lookups' companion name and type columns
 * (`customeridname`, `customeridtype`) are not emulated.
 */
export function entityAttributes(
  store: OrgStore,
  changeTracking: Record<string, boolean>,
  serviceRoot: string,
  keyText: string,
  params: QueryParams,
): QueryAnswer {
  checkOptions(params, 'Attributes');
  const columns = selectedColumns(params, ATTRIBUTE_METADATA);
  const entity = entityRow(metadataRows(store, changeTracking), keyText);
  const def = store.def(String(entity.LogicalName));
  const rows: Row[] = Object.entries(def.attributes).map(([name, attribute]) => ({
    MetadataId: metadataIdOf(`${def.logicalName}.${name}`),
    LogicalName: name,
    EntityLogicalName: def.logicalName,
    AttributeType: attributeTypeOf(name, attribute),
  }));
  const contextSelect = columns ? `(${columns.join(',')})` : '';
  return {
    body: {
      '@odata.context': `${serviceRoot}/$metadata#EntityDefinitions(${keyText})/Attributes${contextSelect}`,
      value: filtered(store, ATTRIBUTE_METADATA, rows, params).map((row) => ({
        '@odata.type': `#Microsoft.Dynamics.CRM.${metadataTypeOf(String(row.AttributeType))}`,
        ...pick(row, columns),
      })),
    },
    preferenceApplied: [],
  };
}

export const ORGANIZATION_ID = seededRandom(99_002).guid();
export const BUSINESS_UNIT_ID = seededRandom(99_003).guid();

export function whoAmI(serviceRoot: string, userId: string): QueryAnswer {
  return {
    body: {
      '@odata.context': `${serviceRoot}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
      BusinessUnitId: BUSINESS_UNIT_ID,
      UserId: userId,
      OrganizationId: ORGANIZATION_ID,
    },
    preferenceApplied: [],
  };
}
