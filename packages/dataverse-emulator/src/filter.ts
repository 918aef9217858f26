/**
 * A small OData $filter parser and evaluator with SQL's three-valued logic (a comparison with null is
 * unknown, so `ne`/`not` never return rows whose column is null — as Dataverse's SQL does).
 * Literals are typed once per query; evaluation per row is plain comparisons.
 */
import { queryError } from './errors';
import { resolveProperty, type PropertyRef } from './properties';
import type { AttributeType, EntityDef } from './schema';
import type { OrgStore, Row } from './store';

type Literal =
  | { kind: 'null' }
  | { kind: 'bool'; value: boolean }
  | { kind: 'number'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'guid'; value: string }
  | { kind: 'date'; value: string }
  | { kind: 'datetime'; value: number };

type Operand = { kind: 'property'; path: string } | { kind: 'literal'; literal: Literal };
type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

export type FilterNode =
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; operand: FilterNode }
  | { kind: 'compare'; op: CompareOp; left: Operand; right: Operand }
  | { kind: 'text'; fn: 'contains' | 'startswith' | 'endswith'; path: string; value: string }
  | { kind: 'in'; property: string; values: string[] }
  | { kind: 'boolProperty'; path: string };

type Token =
  | { t: 'ident'; v: string; at: number }
  | { t: 'lit'; v: Literal; at: number }
  | { t: 'punct'; v: '(' | ')' | ',' | '[' | ']' | '='; at: number };

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?(?![\w:])/;
const DATE = /^\d{4}-\d{2}-\d{2}(?![\w:-])/;
const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?[mMdDfFlL]?(?![\w.])/;
const IDENT = /^[A-Za-z_$][\w.$/]*/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < text.length) {
    const ch = text[at] as string;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      at++;
      continue;
    }
    if (ch === "'") {
      let value = '';
      let end = at + 1;
      for (;;) {
        if (end >= text.length)
          throw queryError(`Unterminated string literal at position ${at} in '${text}'.`);
        if (text[end] === "'") {
          if (text[end + 1] === "'") {
            value += "'";
            end += 2;
            continue;
          }
          break;
        }
        value += text[end];
        end++;
      }
      tokens.push({ t: 'lit', v: { kind: 'string', value }, at });
      at = end + 1;
      continue;
    }
    if ('()[],='.includes(ch)) {
      tokens.push({ t: 'punct', v: ch as '(' | ')' | ',' | '[' | ']' | '=', at });
      at++;
      continue;
    }
    const rest = text.slice(at, at + 64);
    let match = GUID.exec(rest);
    if (match) {
      tokens.push({ t: 'lit', v: { kind: 'guid', value: match[0].toLowerCase() }, at });
      at += match[0].length;
      continue;
    }
    match = DATETIME.exec(rest);
    if (match) {
      const value = Date.parse(match[0]);
      if (Number.isNaN(value)) throw queryError(`Invalid date/time literal '${match[0]}'.`);
      tokens.push({ t: 'lit', v: { kind: 'datetime', value }, at });
      at += match[0].length;
      continue;
    }
    match = DATE.exec(rest);
    if (match) {
      tokens.push({ t: 'lit', v: { kind: 'date', value: match[0] }, at });
      at += match[0].length;
      continue;
    }
    match = NUMBER.exec(rest);
    if (match) {
      tokens.push({ t: 'lit', v: { kind: 'number', value: parseFloat(match[0]) }, at });
      at += match[0].length;
      continue;
    }
    match = IDENT.exec(text.slice(at));
    if (match) {
      const word = match[0];
      if (word === 'null') tokens.push({ t: 'lit', v: { kind: 'null' }, at });
      else if (word === 'true' || word === 'false')
        tokens.push({ t: 'lit', v: { kind: 'bool', value: word === 'true' }, at });
      else tokens.push({ t: 'ident', v: word, at });
      at += word.length;
      continue;
    }
    throw queryError(`Syntax error at position ${at} in '${text}'.`);
  }
  return tokens;
}

const COMPARE_OPS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const IN_FUNCTION = 'Microsoft.Dynamics.CRM.In';

class Parser {
  private index = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly text: string,
  ) {}

  parse(): FilterNode {
    const node = this.parseOr();
    const extra = this.tokens[this.index];
    if (extra) throw this.syntax(extra.at);
    return node;
  }

  private syntax(at: number = this.text.length): Error {
    return queryError(`Syntax error at position ${at} in '${this.text}'.`);
  }

  private peek(): Token | undefined {
    return this.tokens[this.index];
  }

  private isWord(word: string): boolean {
    const token = this.peek();
    return token?.t === 'ident' && token.v === word;
  }

  private isPunct(value: string): boolean {
    const token = this.peek();
    return token?.t === 'punct' && token.v === value;
  }

  private expectPunct(value: string): void {
    if (!this.isPunct(value)) throw this.syntax(this.peek()?.at);
    this.index++;
  }

  private parseOr(): FilterNode {
    let node = this.parseAnd();
    while (this.isWord('or')) {
      this.index++;
      node = { kind: 'or', left: node, right: this.parseAnd() };
    }
    return node;
  }

  private parseAnd(): FilterNode {
    let node = this.parseUnary();
    while (this.isWord('and')) {
      this.index++;
      node = { kind: 'and', left: node, right: this.parseUnary() };
    }
    return node;
  }

  private parseUnary(): FilterNode {
    if (this.isWord('not')) {
      this.index++;
      return { kind: 'not', operand: this.parseUnary() };
    }
    if (this.isPunct('(')) {
      this.index++;
      const inner = this.parseOr();
      this.expectPunct(')');
      return inner;
    }
    const token = this.peek();
    if (
      token?.t === 'ident' &&
      this.tokens[this.index + 1]?.t === 'punct' &&
      this.tokens[this.index + 1]?.v === '('
    ) {
      return this.parseFunction(token.v);
    }
    const left = this.parseOperand();
    const op = this.peek();
    if (op?.t === 'ident' && COMPARE_OPS.has(op.v)) {
      this.index++;
      return { kind: 'compare', op: op.v as CompareOp, left, right: this.parseOperand() };
    }
    if (left.kind === 'property') return { kind: 'boolProperty', path: left.path };
    throw this.syntax(op?.at);
  }

  private parseOperand(): Operand {
    const token = this.peek();
    if (!token) throw this.syntax();
    this.index++;
    if (token.t === 'lit') return { kind: 'literal', literal: token.v };
    if (token.t === 'ident') return { kind: 'property', path: token.v };
    throw this.syntax(token.at);
  }

  private parseFunction(name: string): FilterNode {
    this.index += 2; // name and '('
    if (name === 'contains' || name === 'startswith' || name === 'endswith') {
      const target = this.parseOperand();
      this.expectPunct(',');
      const value = this.parseOperand();
      this.expectPunct(')');
      if (target.kind !== 'property' || value.kind !== 'literal' || value.literal.kind !== 'string') {
        throw queryError(`The function '${name}' needs a property and a string literal.`);
      }
      return { kind: 'text', fn: name, path: target.path, value: value.literal.value };
    }
    if (name === IN_FUNCTION) {
      let property: string | undefined;
      let values: string[] | undefined;
      while (!this.isPunct(')')) {
        const param = this.peek();
        if (param?.t !== 'ident') throw this.syntax(param?.at);
        this.index++;
        this.expectPunct('=');
        if (param.v === 'PropertyName') {
          const value = this.parseOperand();
          if (value.kind !== 'literal' || value.literal.kind !== 'string') throw this.syntax(param.at);
          property = value.literal.value;
        } else if (param.v === 'PropertyValues') {
          values = this.parseList();
        } else {
          throw queryError(`Unknown parameter '${param.v}' for function '${IN_FUNCTION}'.`);
        }
        if (this.isPunct(',')) this.index++;
      }
      this.index++;
      if (property === undefined || values === undefined) {
        throw queryError(`The function '${IN_FUNCTION}' needs PropertyName and PropertyValues.`);
      }
      return { kind: 'in', property, values };
    }
    throw queryError(
      `An unknown function with name '${name}' was found. This may also be a function import or a key lookup on a navigation property, which is not allowed.`,
    );
  }

  private parseList(): string[] {
    this.expectPunct('[');
    const values: string[] = [];
    while (!this.isPunct(']')) {
      const token = this.peek();
      if (token?.t !== 'lit') throw this.syntax(token?.at);
      this.index++;
      const literal = token.v;
      if (literal.kind === 'string' || literal.kind === 'guid' || literal.kind === 'date')
        values.push(literal.value);
      else if (literal.kind === 'number' || literal.kind === 'bool') values.push(String(literal.value));
      else throw this.syntax(token.at);
      if (this.isPunct(',')) this.index++;
      else if (!this.isPunct(']')) throw this.syntax(this.peek()?.at);
    }
    this.index++;
    return values;
  }
}

export function parseFilter(text: string): FilterNode {
  return new Parser(tokenize(text), text).parse();
}

// ---- evaluation -------------------------------------------------------------------------------------

/** true, false, or null for SQL's "unknown". */
type Truth = boolean | null;
export type RowPredicate = (row: Row) => boolean;
type Eval = (row: Row) => Truth;

const NUMERIC: ReadonlySet<AttributeType> = new Set(['int', 'decimal', 'money', 'bigint', 'optionset']);
const TEXT: ReadonlySet<AttributeType> = new Set(['string', 'memo']);

function incompatible(ref: PropertyRef, literal: Literal): Error {
  return queryError(
    `A binary operator with incompatible types was detected. Found operand types '${ref.type}' and '${literal.kind}' for property '${ref.attribute}'.`,
  );
}

/** Converts a literal to the comparable form of the property's type (done once per query). */
function comparable(ref: PropertyRef, literal: Literal): string | number | boolean {
  const t = ref.type;
  if (t === 'guid') {
    if (literal.kind === 'guid' || literal.kind === 'string') return literal.value.toLowerCase();
  } else if (NUMERIC.has(t)) {
    if (literal.kind === 'number') return literal.value;
  } else if (TEXT.has(t)) {
    if (literal.kind === 'string') return literal.value.toLowerCase();
  } else if (t === 'bool') {
    if (literal.kind === 'bool') return literal.value;
  } else if (t === 'date') {
    if (literal.kind === 'date') return literal.value;
    if (literal.kind === 'datetime') return new Date(literal.value).toISOString().slice(0, 10);
  } else if (t === 'datetime') {
    if (literal.kind === 'datetime') return literal.value;
    if (literal.kind === 'date') return Date.parse(`${literal.value}T00:00:00Z`);
  }
  throw incompatible(ref, literal);
}

/** Reads a row value in the comparable form of its type. */
function reader(ref: PropertyRef): (row: Row) => string | number | boolean | null {
  const get = (row: Row): unknown => ref.get(row);
  if (ref.type === 'guid' || TEXT.has(ref.type)) {
    return (row) => {
      const value = get(row);
      return typeof value === 'string' ? value.toLowerCase() : null;
    };
  }
  if (ref.type === 'datetime') {
    return (row) => {
      const value = get(row);
      return typeof value === 'string' ? Date.parse(value) : null;
    };
  }
  return (row) => (get(row) ?? null) as string | number | boolean | null;
}

function compare(op: CompareOp, a: string | number | boolean, b: string | number | boolean): boolean {
  switch (op) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
  }
}

const FLIP: Record<CompareOp, CompareOp> = { eq: 'eq', ne: 'ne', gt: 'lt', ge: 'le', lt: 'gt', le: 'ge' };

export class FilterCompiler {
  constructor(
    private readonly store: OrgStore,
    private readonly def: EntityDef,
  ) {}

  compile(node: FilterNode): RowPredicate {
    const evaluate = this.build(node);
    return (row) => evaluate(row) === true;
  }

  /** Ids that can satisfy the filter, from key lookups and lookup indexes; undefined = scan the table. */
  candidates(node: FilterNode): string[] | undefined {
    switch (node.kind) {
      case 'and': {
        const left = this.candidates(node.left);
        const right = this.candidates(node.right);
        if (left && right) return left.length <= right.length ? left : right;
        return left ?? right;
      }
      case 'or': {
        const left = this.candidates(node.left);
        const right = node.right && left ? this.candidates(node.right) : undefined;
        return left && right ? [...new Set([...left, ...right])] : undefined;
      }
      case 'in':
        return this.idsFor(node.property, node.values, true);
      case 'compare': {
        if (node.op !== 'eq') return undefined;
        const [property, literal] =
          node.left.kind === 'property' && node.right.kind === 'literal'
            ? [node.left.path, node.right.literal]
            : node.right.kind === 'property' && node.left.kind === 'literal'
              ? [node.right.path, node.left.literal]
              : [undefined, undefined];
        if (!property || !literal || (literal.kind !== 'guid' && literal.kind !== 'string')) return undefined;
        return this.idsFor(property, [literal.value], false);
      }
      default:
        return undefined;
    }
  }

  private idsFor(property: string, values: string[], logicalLookup: boolean): string[] | undefined {
    const ref = resolveProperty(this.store, this.def, property, logicalLookup);
    if (!ref.direct || ref.type !== 'guid') return undefined;
    if (ref.attribute === this.def.key) return values.map((value) => value.toLowerCase());
    if (!this.store.hasLookupIndex(this.def.logicalName, ref.attribute)) return undefined;
    const ids: string[] = [];
    for (const value of values)
      ids.push(...(this.store.idsByLookup(this.def.logicalName, ref.attribute, value) ?? []));
    return ids;
  }

  private build(node: FilterNode): Eval {
    switch (node.kind) {
      case 'and': {
        const left = this.build(node.left);
        const right = this.build(node.right);
        return (row) => {
          const a = left(row);
          if (a === false) return false;
          const b = right(row);
          if (b === false) return false;
          return a === true && b === true ? true : null;
        };
      }
      case 'or': {
        const left = this.build(node.left);
        const right = this.build(node.right);
        return (row) => {
          const a = left(row);
          if (a === true) return true;
          const b = right(row);
          if (b === true) return true;
          return a === false && b === false ? false : null;
        };
      }
      case 'not': {
        const operand = this.build(node.operand);
        return (row) => {
          const value = operand(row);
          return value === null ? null : !value;
        };
      }
      case 'boolProperty': {
        const ref = resolveProperty(this.store, this.def, node.path);
        if (ref.type !== 'bool')
          throw queryError(`The property '${node.path}' is not a Boolean and cannot be used as a condition.`);
        return (row) => {
          const value = ref.get(row);
          return typeof value === 'boolean' ? value : null;
        };
      }
      case 'text': {
        const ref = resolveProperty(this.store, this.def, node.path);
        if (!TEXT.has(ref.type))
          throw queryError(`The function '${node.fn}' cannot be applied to '${node.path}'.`);
        const read = reader(ref);
        const needle = node.value.toLowerCase();
        const test =
          node.fn === 'contains'
            ? (text: string) => text.includes(needle)
            : node.fn === 'startswith'
              ? (text: string) => text.startsWith(needle)
              : (text: string) => text.endsWith(needle);
        return (row) => {
          const value = read(row);
          return typeof value === 'string' ? test(value) : null;
        };
      }
      case 'in': {
        const ref = resolveProperty(this.store, this.def, node.property, true);
        const read = reader(ref);
        const set = new Set(
          node.values.map((value) => {
            const literal: Literal = NUMERIC.has(ref.type)
              ? { kind: 'number', value: Number(value) }
              : ref.type === 'bool'
                ? { kind: 'bool', value: value === 'true' }
                : ref.type === 'date'
                  ? { kind: 'date', value }
                  : ref.type === 'datetime'
                    ? { kind: 'datetime', value: Date.parse(value) }
                    : { kind: 'string', value };
            return comparable(ref, literal);
          }),
        );
        return (row) => {
          const value = read(row);
          return value === null ? null : set.has(value);
        };
      }
      case 'compare':
        return this.buildCompare(node.op, node.left, node.right);
    }
  }

  private buildCompare(op: CompareOp, left: Operand, right: Operand): Eval {
    if (left.kind === 'literal' && right.kind === 'property') return this.buildCompare(FLIP[op], right, left);
    if (left.kind !== 'property') throw queryError('A comparison needs a property on one side.');
    const ref = resolveProperty(this.store, this.def, left.path);
    const read = reader(ref);
    if (right.kind === 'property') {
      const other = reader(resolveProperty(this.store, this.def, right.path));
      return (row) => {
        const a = read(row);
        const b = other(row);
        return a === null || b === null ? null : compare(op, a, b);
      };
    }
    if (right.literal.kind === 'null') {
      if (op !== 'eq' && op !== 'ne') throw queryError(`The operator '${op}' cannot be used with null.`);
      return op === 'eq' ? (row) => read(row) === null : (row) => read(row) !== null;
    }
    const literal = comparable(ref, right.literal);
    return (row) => {
      const value = read(row);
      return value === null ? null : compare(op, value, literal);
    };
  }
}
