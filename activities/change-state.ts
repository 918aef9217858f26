/**
 * Where each table's changes are read from next time: a change-tracking delta link, or, for a table without
 * change tracking, a `modifiedon` watermark. Saved in the store's sync_state under `changes:<table>`; a running
 * sync writes `next-changes:<table>` and finishSync promotes them, so a failed run never moves the state.
 */
export type ChangeState = { kind: 'delta'; link: string } | { kind: 'watermark'; since: string };

export function encodeChangeState(state: ChangeState): string {
  return state.kind === 'delta' ? `delta ${state.link}` : `watermark ${state.since}`;
}

export function decodeChangeState(text: string | undefined): ChangeState | undefined {
  if (text === undefined) return undefined;
  const space = text.indexOf(' ');
  const kind = text.slice(0, space);
  const value = text.slice(space + 1);
  if (kind === 'delta' && value !== '') return { kind: 'delta', link: value };
  if (kind === 'watermark' && !Number.isNaN(Date.parse(value))) return { kind: 'watermark', since: value };
  return undefined;
}

export const committedKey = (table: string): string => `changes:${table}`;
export const nextKey = (table: string): string => `next-changes:${table}`;

/**
 * A watermark is taken a little before the read starts: rows modified while the read runs, or stamped by a
 * server clock that runs behind ours, are read again next time rather than missed (writes are idempotent).
 */
export function watermarkBefore(now: Date, marginMs = 5 * 60_000): string {
  return new Date(now.getTime() - marginMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
