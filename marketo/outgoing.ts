/**
 * What a push step sends (SPEC section 7, rule 2): the mirror read a chunk at a time in key order, each record
 * built by the rules, and kept only where its digest differs from what Marketo last accepted.
 */
import {
  companyRecord,
  fitToDescribe,
  leadLookupValue,
  leadOfGroup,
  leadRecord,
  opportunityRecord,
  recordHash,
  roleRecord,
  type Describe,
  type MarketoRecord,
} from '../rules';
import { PUSH_STEPS, type PushStep } from '../workflows';
import type { LedgerState, MarketoLedger, RoleMirrorRow } from '../store';

export interface PushSettings {
  leadLookupField: string;
  opportunityFieldMap: readonly { column: string; field: string }[];
  maxConcurrent: number;
}

export type DescribedObject = 'companies' | 'leads' | 'opportunities' | 'roles';

/** What planning reads: the ledger and mirror, the settings, each object's describe. */
export interface PlanDependencies {
  ledger: MarketoLedger;
  settings: PushSettings;
  describe: (object: DescribedObject) => Promise<Describe>;
}

/** A record to send, where its answer goes in the ledger, and which sync_errors rows it opens or closes. */
export interface Outgoing {
  /** Marketo does not hold the record yet (for deletes: false). */
  isNew?: boolean;
  record: MarketoRecord;
  hash: string;
  key: Record<string, unknown>;
  errorIds: string[];
}

/** What a run would send, per step: records Marketo would create, update or delete (the dry run, status). */
export async function pendingCounts(
  deps: PlanDependencies,
  full: boolean,
): Promise<Record<PushStep, { create: number; update: number; delete: number }>> {
  const counts = {} as Record<PushStep, { create: number; update: number; delete: number }>;
  for (const step of PUSH_STEPS) {
    const tally = { create: 0, update: 0, delete: 0 };
    for await (const chunk of outgoing(deps, step, full))
      for (const item of chunk) {
        if (step === 'roleDeletes' || step === 'opportunityDeletes') tally.delete += 1;
        else if (item.isNew === true) tally.create += 1;
        else tally.update += 1;
      }
    counts[step] = tally;
  }
  return counts;
}

/** The records of a step that differ from the ledger, a chunk of the mirror at a time. */
export async function* outgoing(
  deps: PlanDependencies,
  step: PushStep,
  full: boolean,
): AsyncGenerator<Outgoing[]> {
  // A record is sent when it differs from what Marketo accepted, and (but on --full) from what it last refused.
  const pending: Pending = (record, state, key, errorIds) => {
    const hash = recordHash(record);
    const differs = hash !== state?.hash && (full || hash !== state?.rejected_hash);
    return differs ? [{ isNew: state?.hash == null, record, hash, key, errorIds }] : [];
  };
  const { ledger, settings } = deps;
  switch (step) {
    case 'companies': {
      const describe = await deps.describe('companies');
      for (let after = ''; ;) {
        const rows = await ledger.companies(after);
        if (rows.length === 0) return;
        after = rows[rows.length - 1]!.external_company_id;
        yield rows.flatMap((row) =>
          pending(
            fitToDescribe(companyRecord(row), describe, ['externalCompanyId']),
            row,
            { external_company_id: row.external_company_id },
            [row.external_company_id],
          ),
        );
      }
    }
    case 'leads':
      yield* outgoingLeads(deps, pending);
      return;
    case 'opportunities': {
      const describe = await deps.describe('opportunities');
      for (let after = ''; ;) {
        const rows = await ledger.opportunities(after);
        if (rows.length === 0) return;
        after = rows[rows.length - 1]!.external_opportunity_id;
        yield rows.flatMap((row) =>
          pending(
            fitToDescribe(opportunityRecord(row, settings.opportunityFieldMap), describe, [
              'externalOpportunityId',
            ]),
            row,
            { external_opportunity_id: row.external_opportunity_id },
            [row.external_opportunity_id],
          ),
        );
      }
    }
    case 'roles':
    case 'roleDeletes':
      yield* outgoingRoles(deps, step === 'roleDeletes', pending);
      return;
    case 'opportunityDeletes':
      for (let after = ''; ;) {
        const ids = await ledger.deletedOpportunities(after);
        if (ids.length === 0) return;
        after = ids[ids.length - 1]!;
        yield ids.map((id) => ({
          record: { externalOpportunityId: id },
          hash: '',
          key: { external_opportunity_id: id },
          errorIds: [id],
        }));
      }
  }
}

/** The record as an Outgoing to send, or nothing when Marketo already holds it (see `outgoing`). */
type Pending = (
  record: MarketoRecord,
  state: LedgerState | undefined,
  key: Record<string, unknown>,
  errorIds: string[],
) => Outgoing[];

/** Leads (rule 5): one per contact with a custom lookup field; one per email, from the contact modified last. */
async function* outgoingLeads(deps: PlanDependencies, pending: Pending): AsyncGenerator<Outgoing[]> {
  const { ledger } = deps;
  const lookupField = deps.settings.leadLookupField;
  const describe = await deps.describe('leads');
  const keep = [lookupField];
  if (lookupField !== 'email') {
    for (let after = ''; ;) {
      const rows = await ledger.leadsById(after);
      if (rows.length === 0) return;
      after = rows[rows.length - 1]!.dynamics_contact_id;
      const states = await ledger.states(
        'marketo_leads',
        'lookup_value',
        rows.map((row) => row.dynamics_contact_id),
      );
      yield rows.flatMap((row) => {
        const id = row.dynamics_contact_id;
        return pending(
          fitToDescribe(leadRecord(row, lookupField), describe, keep),
          states.get(id),
          { lookup_value: id },
          [id],
        );
      });
    }
  }
  for (let after = ''; ;) {
    const { emails, contacts } = await ledger.leadsByEmail(after);
    if (emails.length === 0) return;
    after = emails[emails.length - 1]!;
    const states = await ledger.states('marketo_leads', 'lookup_value', emails);
    const groups = new Map<string, typeof contacts>();
    for (const contact of contacts)
      groups.set(contact.email ?? '', [...(groups.get(contact.email ?? '') ?? []), contact]);
    yield emails.flatMap((email) => {
      const group = groups.get(email) ?? [];
      const chosen = leadOfGroup(group);
      if (chosen === undefined || leadLookupValue(chosen, 'email') === undefined) return [];
      return pending(
        fitToDescribe(leadRecord(chosen, 'email'), describe, keep),
        states.get(email),
        { lookup_value: email },
        group.map((c) => c.dynamics_contact_id),
      );
    });
  }
}

/** Roles compared a range of opportunities at a time: upserts of new or changed ones, or deletes of stale ones. */
async function* outgoingRoles(
  deps: PlanDependencies,
  deletes: boolean,
  pending: Pending,
): AsyncGenerator<Outgoing[]> {
  const { ledger } = deps;
  const describe = deletes ? undefined : await deps.describe('roles');
  for (let after = ''; ;) {
    const upTo = await ledger.opportunityRangeEnd(after);
    const desired = new Map<string, RoleMirrorRow>();
    for (const role of await ledger.desiredRoles(after, upTo)) {
      const key = roleKey(role);
      // Contacts that share an email share a lead: their roles of one name are one Marketo role.
      const primary = desired.get(key)?.is_primary === true || role.is_primary;
      desired.set(key, { ...role, is_primary: primary });
    }
    const held = new Map((await ledger.ledgerRoles(after, upTo)).map((row) => [roleKey(row), row]));
    const out: Outgoing[] = [];
    if (deletes) {
      for (const [key, row] of held)
        if (row.hash !== null && !desired.has(key))
          out.push({
            record: {
              externalOpportunityId: row.external_opportunity_id,
              leadId: row.marketo_lead_id,
              role: row.role,
            },
            hash: '',
            key: keyOf(row),
            errorIds: [key],
          });
    } else {
      for (const [key, role] of desired) {
        const record = fitToDescribe(roleRecord(role), describe!, [
          'externalOpportunityId',
          'leadId',
          'role',
        ]);
        out.push(...pending(record, held.get(key), keyOf(role), [key]));
      }
    }
    yield out;
    if (upTo === undefined) return;
    after = upTo;
  }
}

function roleKey(role: { external_opportunity_id: string; marketo_lead_id: number; role: string }): string {
  return `${role.external_opportunity_id}|${role.marketo_lead_id}|${role.role}`;
}

function keyOf(role: { external_opportunity_id: string; marketo_lead_id: number; role: string }) {
  return {
    external_opportunity_id: role.external_opportunity_id,
    marketo_lead_id: role.marketo_lead_id,
    role: role.role,
  };
}
