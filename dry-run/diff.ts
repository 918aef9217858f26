import type { StoreSnapshot } from '../store';

/** The keys of one table's rows that a run creates, changes and deletes. */
export interface TableChanges {
  created: string[];
  updated: string[];
  deleted: string[];
}

export type StoreChanges = Record<keyof StoreSnapshot, TableChanges>;

const KEYS: { [T in keyof StoreSnapshot]: (row: StoreSnapshot[T][number]) => string } = {
  opportunities: (row) => row.external_opportunity_id,
  roles: (row) => `${row.external_opportunity_id}|${row.dynamics_contact_id}|${row.role}`,
  leads: (row) => row.dynamics_contact_id,
  companies: (row) => row.external_company_id,
  syncErrors: (row) => `${row.entity}|${row.record_id}`,
};

function tableChanges<R>(
  before: R[],
  after: R[],
  key: (row: R) => string,
  gone: (row: R) => boolean,
): TableChanges {
  const was = new Map(before.filter((row) => !gone(row)).map((row) => [key(row), JSON.stringify(row)]));
  const changes: TableChanges = { created: [], updated: [], deleted: [] };
  const kept = new Set<string>();
  for (const row of after) {
    const id = key(row);
    const old = was.get(id);
    if (gone(row)) continue;
    kept.add(id);
    if (old === undefined) changes.created.push(id);
    else if (old !== JSON.stringify(row)) changes.updated.push(id);
  }
  for (const id of was.keys()) if (!kept.has(id)) changes.deleted.push(id);
  for (const list of Object.values(changes) as string[][]) list.sort();
  return changes;
}

/**
 * What a run changed, table by table, from the store before it to the store after it (updated_at aside: the
 * snapshot leaves it out). A deleted opportunity keeps its row with is_deleted, and counts as deleted.
 */
export function storeChanges(before: StoreSnapshot, after: StoreSnapshot): StoreChanges {
  const changes = (table: keyof StoreSnapshot): TableChanges => {
    const key = KEYS[table] as (row: unknown) => string;
    const gone = (row: unknown): boolean =>
      table === 'opportunities' && (row as { is_deleted: boolean }).is_deleted;
    return tableChanges<unknown>(before[table], after[table], key, gone);
  };
  return {
    opportunities: changes('opportunities'),
    roles: changes('roles'),
    leads: changes('leads'),
    companies: changes('companies'),
    syncErrors: changes('syncErrors'),
  };
}
