/**
 * Response bodies as bytes, and the JSON of a collection page parsed from them a few rows at a time.
 *
 * A page of 5,000 rows is megabytes of JSON. Decoded whole, it is one string in V8's large-object space: fresh
 * memory (a page fault per 4 KiB, and on a virtual machine those are dear), counted against the old generation,
 * so that under a heap bound every few pages force a full collection, and held until one runs. Parsed as
 * slices of at most GROUP_BYTES, every string is small, young and gone at the next scavenge.
 */
import { isAscii } from 'node:buffer';

/** A body's text: Latin-1 when it is all ASCII (the same text, decoded without the UTF-8 decoder), else UTF-8. */
export function decodeBody(body: Buffer): string {
  if (isAscii(body)) return body.toString('latin1');
  const text = body.toString('utf8');
  // As axios's text responses did: a byte order mark is not part of the JSON.
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Slices of rows parsed at once: decoded, at most twice this in bytes, well under large-object size. */
const GROUP_BYTES = 32 * 1024;
/** Where one row object of the array ends and the next begins, as Dataverse and OData servers write it. */
const ROW_SEPARATOR = Buffer.from('},{', 'latin1');
/** How far from either end the `value` array's brackets are looked for. */
const EDGE_BYTES = 64 * 1024;
/** A `"name":value` pair whose string value has no quote or escape, and the `value` array's opening. */
const SIMPLE_PAIR = String.raw`\s*"[^"\\]*"\s*:\s*(?:"[^"\\]*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)\s*`;
const HEAD = new RegExp(String.raw`^\s*\{(?:${SIMPLE_PAIR},)*\s*"value"\s*:\s*\[`);
/** From the array's closing bracket to the end: only simple pairs (the links) and the closing brace. */
const TAIL = new RegExp(String.raw`\]\s*(?:,${SIMPLE_PAIR})*\}\s*$`, 'y');
/** Closing brackets tried from the end before giving up on the sliced parse. */
const TAIL_TRIES = 16;

/**
 * `JSON.parse` of a body, the same value, parsed in slices when the body is a collection (`{…,"value":[rows],…}`
 * with only plain name/value pairs around the array, as every Web API collection is). Anything else, or
 * anything the slicing does not account for, is parsed whole, so errors read as JSON.parse's own. The body's bytes
 * are as they were when this returns or throws (see parseGroup).
 */
export function parseJsonBody(body: Buffer): unknown {
  return parseInSlices(body) ?? JSON.parse(decodeBody(body));
}

function parseInSlices(body: Buffer): unknown {
  if (body.length <= 2 * GROUP_BYTES) return undefined;
  // Latin-1 keeps one character per byte, so positions in these strings are byte offsets.
  const head = HEAD.exec(body.toString('latin1', 0, Math.min(body.length, EDGE_BYTES)));
  if (head === null) return undefined;
  const start = head[0].length;
  const end = closingBracket(body, start);
  if (end === undefined) return undefined;
  const rows: unknown[] = [];
  try {
    for (let from = start; from < end;) {
      const to = groupEnd(body, from, end);
      const group = parseGroup(body, from, to);
      if (!Array.isArray(group)) return undefined;
      for (const row of group) rows.push(row);
      from = to + 1;
    }
    // The page without its rows: the pairs around them, with "value" an empty array where the rows were.
    const frame: unknown = JSON.parse(body.toString('utf8', 0, start) + body.toString('utf8', end));
    if (typeof frame !== 'object' || frame === null) return undefined;
    const value: unknown = (frame as { value?: unknown }).value;
    if (!Array.isArray(value) || value.length !== 0) return undefined;
    (frame as { value: unknown[] }).value = rows;
    return frame;
  } catch {
    // A separator inside a string or a nested array leaves a slice that is not JSON: parse the body whole.
    return undefined;
  }
}

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * The rows `body[from…to)` as one JSON array. The bytes either side of them (the array's own bracket, or the
 * comma between two rows) are overwritten with brackets while the slice is decoded and then put back, so the
 * decoded text is the array as it is parsed: adding the brackets to the decoded string instead makes a second
 * string of the same size (JSON.parse flattens the concatenation), two fifths of what parsing a page allocated.
 */
function parseGroup(body: Buffer, from: number, to: number): unknown {
  const before = body[from - 1] as number;
  const after = body[to] as number;
  body[from - 1] = OPEN_BRACKET;
  body[to] = CLOSE_BRACKET;
  try {
    return JSON.parse(body.toString('utf8', from - 1, to + 1));
  } finally {
    body[from - 1] = before;
    body[to] = after;
  }
}

/** The byte offset of the `value` array's closing bracket: the last `]` followed only by plain pairs and `}`. */
function closingBracket(body: Buffer, start: number): number | undefined {
  const from = Math.max(start, body.length - EDGE_BYTES);
  const tail = body.toString('latin1', from);
  for (let at = tail.lastIndexOf(']'), tries = 0; at >= 0 && tries < TAIL_TRIES; tries++) {
    TAIL.lastIndex = at;
    if (TAIL.test(tail)) return from + at;
    at = at === 0 ? -1 : tail.lastIndexOf(']', at - 1);
  }
  return undefined;
}

/**
 * Where the slice starting at `from` ends: just after the first row end at least GROUP_BYTES on, or at `end`.
 * A slice ending inside a string or a nested value cannot parse (its last string or bracket stays open).
 */
function groupEnd(body: Buffer, from: number, end: number): number {
  if (end - from <= GROUP_BYTES) return end;
  const cut = body.indexOf(ROW_SEPARATOR, from + GROUP_BYTES);
  return cut === -1 || cut >= end ? end : cut + 1;
}
