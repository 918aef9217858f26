/** Turns stored rows into Web API JSON: `_x_value` lookups, @odata.etag, and the annotations asked for. */
import { propertyNotFound, queryError } from './errors';
import { lookupOfValueName } from './properties';
import type { AttributeDef, EntityDef } from './schema';
import { isLookup, type OrgStore, type Row } from './store';

export const FORMATTED = 'OData.Community.Display.V1.FormattedValue';
export const LOOKUP_LOGICAL_NAME = 'Microsoft.Dynamics.CRM.lookuplogicalname';
export const NAVIGATION_PROPERTY = 'Microsoft.Dynamics.CRM.associatednavigationproperty';

export interface AnnotationChoice {
  formatted: boolean;
  logicalName: boolean;
  navigation: boolean;
}

export const NO_ANNOTATIONS: AnnotationChoice = { formatted: false, logicalName: false, navigation: false };

/** `odata.include-annotations="*"` or a comma list with `Namespace.*` wildcards and `-excluded` terms. */
export function annotationChoice(value: string): AnnotationChoice {
  const terms = value
    .replace(/^"|"$/g, '')
    .split(',')
    .map((term) => term.trim())
    .filter(Boolean);
  const wants = (name: string): boolean => {
    let wanted = false;
    for (const term of terms) {
      const excluded = term.startsWith('-');
      const pattern = excluded ? term.slice(1) : term;
      const hit =
        pattern === '*' ||
        pattern === name ||
        (pattern.endsWith('.*') && name.startsWith(pattern.slice(0, -1)));
      if (hit) wanted = !excluded;
    }
    return wanted;
  };
  return {
    formatted: wants(FORMATTED),
    logicalName: wants(LOOKUP_LOGICAL_NAME),
    navigation: wants(NAVIGATION_PROPERTY),
  };
}

export interface Selection {
  /** Output column names (`_x_value` for lookups); null = every column. */
  columns: string[] | null;
  expands: Expand[];
}

export interface Expand {
  navigation: string;
  attribute: string;
  target: string;
  selection: Selection;
}

const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 10 });

function formatDate(value: string): string {
  const [year, month, day] = value.split('-');
  return `${Number(month)}/${Number(day)}/${year}`;
}

function formatDateTime(value: string): string {
  const date = new Date(value);
  const hours = date.getUTCHours();
  const minutes = String(date.getUTCMinutes()).padStart(2, '0');
  const clock = `${hours % 12 === 0 ? 12 : hours % 12}:${minutes} ${hours < 12 ? 'AM' : 'PM'}`;
  return `${date.getUTCMonth() + 1}/${date.getUTCDate()}/${date.getUTCFullYear()} ${clock}`;
}

/** Output names of every column of an entity, in schema order. */
export function allColumns(def: EntityDef): string[] {
  return Object.entries(def.attributes).map(([name, attr]) =>
    attr.type === 'lookup' ? `_${name}_value` : name,
  );
}

/** Validates `$select` names against the entity (lookups only as `_x_value`, as the Web API requires). */
export function parseSelect(def: EntityDef, value: string): string[] {
  const names = value
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  if (names.length === 0) throw queryError("The query parameter '$select' is empty.");
  for (const name of names) {
    if (lookupOfValueName(def, name)) continue;
    const attr = def.attributes[name];
    if (!attr || attr.type === 'lookup') throw propertyNotFound(name, def.logicalName);
  }
  return names;
}

/** One output column, resolved once per selection instead of once per row. */
interface ColumnPlan {
  name: string;
  /** The lookup's logical name when the column is its `_x_value`. */
  lookupName?: string;
  /** Targets of the lookup (the navigation annotation names the target when there are several). */
  lookupTargets: number;
  attr?: AttributeDef;
  /** Annotation property names, built once. */
  formattedKey: string;
  navigationKey: string;
  logicalNameKey: string;
}

interface SelectionPlan {
  columns: ColumnPlan[];
  /** Selecting a money column also returns the currency, as Dataverse does. */
  addCurrency: boolean;
}

export class RowFormatter {
  /** Plans by selection: a page formats thousands of rows with the same one. */
  private readonly plans = new WeakMap<Selection, SelectionPlan>();

  constructor(
    private readonly store: OrgStore,
    private readonly annotations: AnnotationChoice,
  ) {}

  format(def: EntityDef, row: Row, selection: Selection): Record<string, unknown> {
    const out: Record<string, unknown> = { '@odata.etag': `W/"${String(row.versionnumber)}"` };
    const plan = this.planOf(def, selection);
    for (const column of plan.columns) this.writeColumn(row, column, out);
    if (plan.addCurrency) this.writeColumn(row, this.columnPlan(def, '_transactioncurrencyid_value'), out);
    if (!(def.key in out)) out[def.key] = row[def.key];
    const served =
      this.store.servedColumns.size === 0
        ? undefined
        : this.store.servedColumns.get(`${def.logicalName}:${String(row[def.key])}`);
    // Test hook: serve what a differently implemented Dataverse could (a missing key, a malformed GUID).
    if (served !== undefined) {
      for (const [name, value] of Object.entries(served)) {
        if (value === undefined) delete out[name];
        else out[name] = value;
      }
    }
    for (const expand of selection.expands) {
      const value = row[expand.attribute];
      const target =
        isLookup(value) && value.logicalName === expand.target
          ? this.store.row(expand.target, value.id)
          : undefined;
      out[expand.navigation] = target
        ? this.format(this.store.def(expand.target), target, expand.selection)
        : null;
    }
    return out;
  }

  private planOf(def: EntityDef, selection: Selection): SelectionPlan {
    let plan = this.plans.get(selection);
    if (plan === undefined) {
      const names = selection.columns ?? allColumns(def);
      const addCurrency =
        selection.columns !== null &&
        !selection.columns.includes('_transactioncurrencyid_value') &&
        def.attributes.transactioncurrencyid !== undefined &&
        selection.columns.some((name) => def.attributes[name]?.type === 'money');
      plan = { columns: names.map((name) => this.columnPlan(def, name)), addCurrency };
      this.plans.set(selection, plan);
    }
    return plan;
  }

  private columnPlan(def: EntityDef, name: string): ColumnPlan {
    const keys = {
      formattedKey: `${name}@${FORMATTED}`,
      navigationKey: `${name}@${NAVIGATION_PROPERTY}`,
      logicalNameKey: `${name}@${LOOKUP_LOGICAL_NAME}`,
    };
    const lookupName = lookupOfValueName(def, name);
    if (lookupName)
      return { name, lookupName, lookupTargets: def.attributes[lookupName]?.targets?.length ?? 0, ...keys };
    return { name, lookupTargets: 0, attr: def.attributes[name], ...keys };
  }

  private writeColumn(row: Row, column: ColumnPlan, out: Record<string, unknown>): void {
    const { name, lookupName } = column;
    if (lookupName) {
      const value = row[lookupName];
      if (!isLookup(value)) {
        out[name] = null;
        return;
      }
      if (this.annotations.formatted) {
        const display = this.store.nameOf(value);
        if (display !== undefined) out[column.formattedKey] = display;
      }
      if (this.annotations.navigation) {
        out[column.navigationKey] =
          column.lookupTargets > 1 ? `${lookupName}_${value.logicalName}` : lookupName;
      }
      if (this.annotations.logicalName) out[column.logicalNameKey] = value.logicalName;
      out[name] = value.id;
      return;
    }
    const value = row[name] ?? null;
    const attr = column.attr;
    if (value !== null && attr && this.annotations.formatted) {
      const formatted = this.formatted(attr.type, value, attr.labels);
      if (formatted !== undefined) out[column.formattedKey] = formatted;
    }
    out[name] = value;
  }

  /** Intl formatting is slow and a page repeats amounts and codes: remember them for this formatter. */
  private readonly numberTexts = new Map<Intl.NumberFormat, Map<number, string>>();

  private numberText(format: Intl.NumberFormat, value: number): string {
    let texts = this.numberTexts.get(format);
    if (texts === undefined) this.numberTexts.set(format, (texts = new Map<number, string>()));
    let text = texts.get(value);
    if (text === undefined) {
      text = format.format(value);
      if (texts.size < 10_000) texts.set(value, text);
    }
    return text;
  }

  private formatted(type: string, value: unknown, labels?: Record<number, string>): string | undefined {
    switch (type) {
      case 'optionset':
        return labels?.[value as number];
      case 'money':
        return this.numberText(money, value as number);
      case 'int':
      case 'decimal':
      case 'bigint':
        return this.numberText(decimal, value as number);
      case 'bool':
        return value ? 'Yes' : 'No';
      case 'date':
        return formatDate(value as string);
      case 'datetime':
        return formatDateTime(value as string);
      default:
        return undefined;
    }
  }
}
