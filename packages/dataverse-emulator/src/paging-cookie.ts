/**
 * `$skiptoken` values shaped like Dataverse's: an XML cookie whose `pagingcookie` attribute holds an
 * URL-encoded inner cookie. The inner cookie records the position by KEY (and the ordering values of the
 * last row), so rows inserted or deleted between pages neither repeat nor skip others.
 */
import { queryError } from './errors';

export type SortValue = string | number | boolean | null;

export interface PagingPosition {
  page: number;
  /** Key of the last row returned. */
  lastId: string;
  /** Ordering values of the last row ($orderby), in order. */
  lastValues: SortValue[];
  /** Change-tracking version captured when a tracked read (initial or delta) started. */
  version?: number;
  /** Delta reads: whether the last row came from the changed rows or the deleted ones. */
  phase?: 'changes' | 'deletes';
  tracking: boolean;
}

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const unescapeXml = (text: string): string =>
  text
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

export function encodeSkipToken(position: PagingPosition, keyName: string, orderNames: string[]): string {
  const extra = `${position.version !== undefined ? ` version="${position.version}"` : ''}${position.phase ? ` phase="${position.phase}"` : ''}`;
  const orderParts = orderNames.map(
    (name, index) => `<${name} last="${escapeXml(JSON.stringify(position.lastValues[index] ?? null))}" />`,
  );
  const key = `{${position.lastId.toUpperCase()}}`;
  const inner = `<cookie page="${position.page}"${extra}>${orderParts.join('')}<${keyName} last="${key}" /></cookie>`;
  return `<cookie pagenumber="${position.page + 1}" pagingcookie="${encodeURIComponent(inner)}" istracking="${position.tracking ? 'True' : 'False'}" />`;
}

export function decodeSkipToken(token: string, keyName: string, orderNames: string[]): PagingPosition {
  const invalid = (): Error => queryError('The $skiptoken value is not a valid paging cookie.');
  const outer = /pagingcookie="([^"]*)"/.exec(token);
  const tracking = /istracking="True"/.test(token);
  if (!outer?.[1]) throw invalid();
  let inner: string;
  try {
    inner = decodeURIComponent(outer[1]);
  } catch {
    throw invalid();
  }
  const head = /<cookie page="(\d+)"(?: version="(\d+)")?(?: phase="(changes|deletes)")?>/.exec(inner);
  const keyMatch = new RegExp(`<${keyName} last="\\{([0-9A-Fa-f-]{36})\\}"`).exec(inner);
  if (!head?.[1] || !keyMatch?.[1]) throw invalid();
  const lastValues = orderNames.map((name) => {
    const match = new RegExp(`<${name.replace(/[^\w]/g, '')} last="([^"]*)"`).exec(inner);
    if (!match?.[1]) throw invalid();
    return JSON.parse(unescapeXml(match[1])) as SortValue;
  });
  return {
    page: Number(head[1]),
    lastId: keyMatch[1].toLowerCase(),
    lastValues,
    version: head[2] !== undefined ? Number(head[2]) : undefined,
    phase: head[3] as PagingPosition['phase'],
    tracking,
  };
}
