/** `EmulatorData`: the test hooks that read and change the organisation, with Dataverse's side effects. */
import { EmulatorDataError, isLookup, type OrgStore, type Row } from './store';
import type { EmulatorData, EntityName, Lookup } from './types';

const ENTITIES: readonly EntityName[] = [
  'opportunity',
  'contact',
  'account',
  'connection',
  'connectionrole',
  'transactioncurrency',
  'organization',
];

function checkEntity(entity: string): void {
  if (!ENTITIES.includes(entity as EntityName)) {
    throw new EmulatorDataError('UNKNOWN_ENTITY', `Unknown entity '${entity}'`);
  }
}

function copy(row: Row): Row {
  const out: Row = {};
  for (const [name, value] of Object.entries(row)) out[name] = isLookup(value) ? { ...value } : value;
  return out;
}

/** Fields of a connection that Dataverse keeps in step on its reciprocal row (roles swap sides). */
function reciprocalPatch(patch: Row): Row {
  const mirrored: Row = {};
  if ('statecode' in patch) mirrored.statecode = patch.statecode;
  if ('statuscode' in patch) mirrored.statuscode = patch.statuscode;
  if ('record1roleid' in patch) mirrored.record2roleid = patch.record1roleid;
  if ('record2roleid' in patch) mirrored.record1roleid = patch.record2roleid;
  return mirrored;
}

/** Dataverse keeps the base currency's rate at 1 and any other currency's above 0. */
function checkExchangeRate(store: OrgStore, currencyId: string, patch: Row): void {
  if (!('exchangerate' in patch)) return;
  const rate = patch.exchangerate;
  if (typeof rate !== 'number' || !(rate > 0)) {
    throw new EmulatorDataError('BAD_VALUE', 'exchangerate must be a number above 0');
  }
  if (store.baseCurrency()?.id === currencyId.toLowerCase() && rate !== 1) {
    throw new EmulatorDataError('BAD_VALUE', "The base currency's exchangerate is always 1");
  }
}

export function createEmulatorData(store: OrgStore): EmulatorData {
  const data: EmulatorData = {
    list(entity) {
      checkEntity(entity);
      return store.sortedIds(entity).map((id) => copy(store.row(entity, id) as Row));
    },
    count(entity) {
      checkEntity(entity);
      return store.count(entity);
    },
    get(entity, id) {
      checkEntity(entity);
      const row = store.row(entity, id);
      return row ? copy(row) : undefined;
    },
    create(entity, record) {
      checkEntity(entity);
      if (entity === 'connection' && !record.relatedconnectionid) {
        // Dataverse always stores a connection as a pair of rows.
        const from = record.record1id;
        const to = record.record2id;
        if (!isLookup(from) || !isLookup(to)) {
          throw new EmulatorDataError('BAD_VALUE', 'A connection needs record1id and record2id lookups');
        }
        const roleOf = (value: unknown): string | null => (isLookup(value) ? value.id : null);
        return store.connect(from, to, roleOf(record.record2roleid), {
          reciprocalRoleId: roleOf(record.record1roleid),
          statecode: record.statecode === 1 ? 1 : 0,
          masterId: typeof record.connectionid === 'string' ? record.connectionid : undefined,
        });
      }
      return store.insert(entity, record);
    },
    update(entity, id, patch) {
      checkEntity(entity);
      if (entity === 'transactioncurrency') checkExchangeRate(store, id, patch);
      // A currency's new rate reaches an opportunity's _base values when the opportunity is next saved, as in
      // Dataverse: the opportunities that carry it are not touched here.
      store.update(entity, id, patch);
      if (entity === 'connection') {
        const related = store.relatedConnectionId(id);
        const mirrored = reciprocalPatch(patch);
        if (related && store.row('connection', related) && Object.keys(mirrored).length > 0) {
          store.update('connection', related, mirrored);
        }
      }
    },
    remove(entity, id) {
      checkEntity(entity);
      if (entity === 'connection') return data.disconnect(id);
      store.delete(entity, id);
    },
    connect(from: Lookup, to: Lookup, roleId, opts) {
      return store.connect(from, to, roleId, opts);
    },
    setConnectionState(connectionId, statecode) {
      data.update('connection', connectionId, { statecode, statuscode: statecode === 0 ? 1 : 2 });
    },
    disconnect(connectionId) {
      const related = store.relatedConnectionId(connectionId);
      store.delete('connection', connectionId);
      if (related && store.row('connection', related)) store.delete('connection', related);
    },
    roleId(name) {
      for (const row of store.rows('connectionrole')) {
        if (row.name === name) return row.connectionroleid as string;
      }
      throw new EmulatorDataError('NOT_FOUND', `No connection role named '${name}'`);
    },
  };
  return data;
}
