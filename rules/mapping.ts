/** SPEC section 3: one raw Dataverse row → one store row. Pure; bad input becomes a SyncErrorRow. */
import {
  BadFieldError,
  errorRecordId,
  formattedValue,
  readCode,
  readDate,
  readKey,
  readLookup,
  readNumber,
  readText,
  readTimestamp,
  syncError,
  type Lookup,
} from './fields';
import { lookupProperty } from '../dynamics';
import { readCurrency } from './currencies';
import { SALES_STAGE_LABELS, STAGE_LABELS, STATUS_LABELS, optionLabel } from './labels';
import { TEXT_LIMITS, truncate } from './text';
import type {
  CompanyRow,
  Currencies,
  LeadRow,
  Mapped,
  OpportunityRow,
  RawRecord,
  RuleOptions,
  SyncErrorEntity,
} from './types';

/** An opportunity mapped except for its company, which needs the customer's records (rule 4). */
export interface OpportunityCore {
  row: Omit<OpportunityRow, 'external_company_id'>;
  customer: (Lookup & { type: 'account' | 'contact' }) | null;
}

function mapSafely<T>(entity: SyncErrorEntity, keyColumn: string, raw: RawRecord, map: () => T): Mapped<T> {
  try {
    return { ok: true, row: map() };
  } catch (error) {
    if ((error as Error).name !== 'BadFieldError') throw error;
    return {
      ok: false,
      error: syncError(entity, errorRecordId(raw, keyColumn), (error as Error).message, raw),
    };
  }
}

/** Lookup to an account or contact, told apart only by the lookuplogicalname annotation. */
function readCustomerLookup(raw: RawRecord, name: string): (Lookup & { type: 'account' | 'contact' }) | null {
  const lookup = readLookup(raw, name);
  if (!lookup) return null;
  const { id, type } = lookup;
  if (type !== 'account' && type !== 'contact') {
    throw new BadFieldError(`_${name}_value has unknown customer type ${JSON.stringify(type ?? null)}`);
  }
  return { id, type };
}

/** custom_fields: the selected columns as returned (lookups as their GUID), keys sorted, missing → null. */
function customFieldsJson(raw: RawRecord, columns: string[]): string {
  const fields: Record<string, unknown> = {};
  for (const { name, lookupName, lookupKey } of customColumns(columns)) {
    if (lookupKey in raw) fields[name] = readLookup(raw, lookupName)?.id ?? null;
    else fields[name] = raw[name] ?? null;
  }
  return JSON.stringify(fields);
}

interface CustomColumn {
  name: string;
  lookupName: string;
  lookupKey: string;
}

/** The configured columns, trimmed, deduplicated and sorted, each with the lookup it would be read as. */
function customColumns(columns: string[]): CustomColumn[] {
  const names = [...new Set(columns.map((c) => c.trim()).filter((c) => c !== ''))].sort();
  return names.map((name) => {
    const lookupName = /^_(.+)_value$/.exec(name)?.[1] ?? name;
    return { name, lookupName, lookupKey: lookupProperty(lookupName) };
  });
}

/** Whether the sync filter leaves this opportunity alone: only an explicit false does. */
export function isFilteredOut(raw: RawRecord, options: RuleOptions): boolean {
  return options.filterAttribute !== undefined && options.filterAttribute !== ''
    ? raw[options.filterAttribute] === false
    : false;
}

export function mapOpportunityCore(
  raw: RawRecord,
  options: RuleOptions,
  currencies: Currencies,
): Mapped<OpportunityCore> {
  return mapSafely('opportunity', 'opportunityid', raw, () => {
    const statecode = readCode(raw, 'statecode');
    return {
      customer: readCustomerLookup(raw, 'customerid'),
      row: {
        external_opportunity_id: readKey(raw, 'opportunityid'),
        name: readText(raw, 'name'),
        description: readText(raw, 'description', TEXT_LIMITS.description),
        amount: readNumber(raw, 'estimatedvalue'),
        actual_amount: readNumber(raw, 'actualvalue'),
        currency: readCurrency(raw, currencies),
        amount_base: readNumber(raw, 'estimatedvalue_base'),
        actual_amount_base: readNumber(raw, 'actualvalue_base'),
        close_date: readDate(raw, 'estimatedclosedate'),
        actual_close_date: readDate(raw, 'actualclosedate'),
        stage: optionLabel(raw, 'statecode', STAGE_LABELS),
        sales_stage: optionLabel(raw, 'salesstage', SALES_STAGE_LABELS),
        pipeline_phase: readText(raw, 'stepname'),
        probability: readNumber(raw, 'closeprobability'),
        status: optionLabel(raw, 'statuscode', STATUS_LABELS),
        is_closed: statecode === 1 || statecode === 2,
        is_won: statecode === 1,
        custom_fields: customFieldsJson(raw, options.customFields),
        external_created_date: readTimestamp(raw, 'createdon'),
        last_modified_at: readTimestamp(raw, 'modifiedon'),
      },
    };
  });
}

/**
 * A contact as a lead. Its company is `parentcustomerid` when that is an account; a parent contact
 * (or none) leaves it NULL. Also used on its own to refresh a lead when the contact changes.
 */
export function mapContact(raw: RawRecord): Mapped<LeadRow> {
  return mapSafely('contact', 'contactid', raw, () => {
    const parent = readCustomerLookup(raw, 'parentcustomerid');
    return {
      dynamics_contact_id: readKey(raw, 'contactid'),
      email: readText(raw, 'emailaddress1'),
      first_name: readText(raw, 'firstname'),
      last_name: readText(raw, 'lastname'),
      external_company_id: parent?.type === 'account' ? parent.id : null,
    };
  });
}

/** An account as a company; industry is the industrycode label, else the code as text. */
export function mapAccount(raw: RawRecord): Mapped<CompanyRow> {
  return mapSafely('account', 'accountid', raw, () => {
    const industryCode = readCode(raw, 'industrycode');
    return {
      external_company_id: readKey(raw, 'accountid'),
      company: readText(raw, 'name'),
      website: readText(raw, 'websiteurl'),
      industry:
        industryCode === null
          ? null
          : truncate(formattedValue(raw, 'industrycode') ?? String(industryCode), TEXT_LIMITS.short),
    };
  });
}
