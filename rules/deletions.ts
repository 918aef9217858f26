/**
 * Rule 2's deletes: what a run learns was deleted in Dynamics. An opportunity is deleted when its change feed
 * reports it removed, or (a full sync) when the run's complete read did not see it (the store marks those at
 * the run's end: `markUnseenDeleted`). A related row (connection, contact, account) is deleted when its feed
 * reports it removed, or when the feed reported it changed and Dynamics no longer returns it. A deleted
 * opportunity keeps its row with `is_deleted`; its roles go (SPEC section 2).
 */
import { toGuid, type RawRecord } from '../dynamics';

/** The opportunities a page's removals name, each once, in their stored form. */
export function deletedOpportunityIds(removedIds: readonly string[]): string[] {
  return [...new Set(removedIds.flatMap((id) => toGuid(id) ?? []))];
}

/**
 * The changed ids of a related table whose rows Dynamics no longer returns: deleted after the change feed
 * recorded their change, so they are deletions too.
 */
export function vanishedIds(
  changedIds: readonly string[],
  current: readonly RawRecord[],
  key: string,
): string[] {
  const found = new Set(current.flatMap((row) => toGuid(row[key]) ?? []));
  return changedIds.filter((id) => !found.has(id));
}
