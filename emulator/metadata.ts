/** `EntityDefinitions` (enough to read ChangeTrackingEnabled) and `WhoAmI`. */
import { ODataError, CODES, propertyNotFound, queryError } from './errors';
import { FilterCompiler, parseFilter } from './filter';
import type { QueryAnswer, QueryParams } from './query';
import type { EntityDef } from './schema';
import type { OrgStore, Row } from './store';
import { seededRandom } from './random';

const metadataIds = seededRandom(99_001);
const METADATA_IDS = new Map<string, string>();

const ENTITY_METADATA: EntityDef = {
  logicalName: 'EntityMetadata',
  setName: 'EntityDefinitions',
  key: 'MetadataId',
  nameAttribute: 'LogicalName',
  attributes: {
    MetadataId: { type: 'guid' },
    LogicalName: { type: 'string' },
    EntitySetName: { type: 'string' },
    PrimaryIdAttribute: { type: 'string' },
    PrimaryNameAttribute: { type: 'string' },
    ObjectTypeCode: { type: 'int' },
    ChangeTrackingEnabled: { type: 'bool' },
  },
  navigation: {},
  objectTypeCode: 0,
};

function metadataRows(store: OrgStore, changeTracking: Record<string, boolean>): Row[] {
  return Object.values(store.schema).map((def) => {
    let id = METADATA_IDS.get(def.logicalName);
    if (!id) {
      id = metadataIds.guid();
      METADATA_IDS.set(def.logicalName, id);
    }
    return {
      MetadataId: id,
      LogicalName: def.logicalName,
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

function selectedColumns(params: QueryParams): string[] | null {
  const select = params.options.get('$select');
  if (select === undefined) return null;
  const columns = select.split(',').map((name) => name.trim());
  for (const name of columns)
    if (!ENTITY_METADATA.attributes[name]) throw propertyNotFound(name, 'EntityMetadata');
  return columns;
}

export function entityDefinitions(
  store: OrgStore,
  changeTracking: Record<string, boolean>,
  serviceRoot: string,
  keyText: string | undefined,
  params: QueryParams,
): QueryAnswer {
  for (const name of params.options.keys()) {
    if (name.startsWith('$') && name !== '$select' && name !== '$filter')
      throw queryError(`The query parameter '${name}' is not supported on EntityDefinitions.`);
  }
  const columns = selectedColumns(params);
  const rows = metadataRows(store, changeTracking);
  const contextSelect = columns ? `(${columns.join(',')})` : '';
  if (keyText !== undefined) {
    const byName = /^LogicalName='([^']*)'$/.exec(keyText);
    const row = rows.find((candidate) =>
      byName ? candidate.LogicalName === byName[1] : candidate.MetadataId === keyText.toLowerCase(),
    );
    if (!row) throw new ODataError(404, CODES.notFound, `Could not find an entity with key '${keyText}'.`);
    return {
      body: {
        '@odata.context': `${serviceRoot}/$metadata#EntityDefinitions${contextSelect}/$entity`,
        ...pick(row, columns),
      },
      preferenceApplied: [],
    };
  }
  const filter = params.options.get('$filter');
  const predicate =
    filter !== undefined
      ? new FilterCompiler(store, ENTITY_METADATA).compile(parseFilter(filter))
      : undefined;
  return {
    body: {
      '@odata.context': `${serviceRoot}/$metadata#EntityDefinitions${contextSelect}`,
      value: rows.filter((row) => !predicate || predicate(row)).map((row) => pick(row, columns)),
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
