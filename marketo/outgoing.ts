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
import { PUSH_STEPS, type PushStep } from '../shared/sync-types';
import type { LedgerState, MarketoLedger } from '../store';

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
  const pending = (hash: string, state: LedgerState | undefined): boolean =>
    hash !== state?.hash && (full || hash !== state?.rejected_hash);
  const { ledger, settings } = deps;
  switch (step) {
    case 'companies': {
      const describe = await deps.describe('companies');
      for (let after = ''; ;) {
        const rows = await ledger.companies(after);
        if (rows.length === 0) return;
        after = rows[rows.length - 1]!.external_company_id;
        yield rows.flatMap((row) => {
          const record = fitToDescribe(companyRecord(row), describe, ['externalCompanyId']);
          const hash = recordHash(record);
          return pending(hash, row)
            ? [
                {
                  isNew: row.hash === null,
                  record,
                  hash,
                  key: { external_company_id: row.external_company_id },
                  errorIds: [row.external_company_id],
                },
              ]
            : [];
        });
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
        yield rows.flatMap((row) => {
          const record = fitToDescribe(opportunityRecord(row, settings.opportunityFieldMap), describe, [
            'externalOpportunityId',
          ]);
          const hash = recordHash(record);
          const id = row.external_opportunity_id;
          return pending(hash, row)
            ? [
                {
                  isNew: row.hash === null,
                  record,
                  hash,
                  key: { external_opportunity_id: id },
                  errorIds: [id],
                },
              ]
            : [];
        });
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

type Pending = (hash: string, state: LedgerState | undefined) => boolean;

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
        const record = fitToDescribe(leadRecord(row, lookupField), describe, keep);
        const hash = recordHash(record);
        const id = row.dynamics_contact_id;
        const state = states.get(id);
        return pending(hash, state)
          ? [{ isNew: state?.hash == null, record, hash, key: { lookup_value: id }, errorIds: [id] }]
          : [];
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
      const record = fitToDescribe(leadRecord(chosen, 'email'), describe, keep);
      const hash = recordHash(record);
      const state = states.get(email);
      return pending(hash, state)
        ? [
            {
              isNew: state?.hash == null,
              record,
              hash,
              key: { lookup_value: email },
              errorIds: group.map((c) => c.dynamics_contact_id),
            },
          ]
        : [];
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
    const desired = new Map<string, ReturnType<typeof roleRecord>>();
    for (const role of await ledger.desiredRoles(after, upTo)) {
      const key = roleKey(role);
      // Contacts that share an email share a lead: their roles of one name are one Marketo role.
      const primary = desired.get(key)?.isPrimary === true || role.is_primary;
      desired.set(key, roleRecord({ ...role, is_primary: primary }));
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
        const record = fitToDescribe(role, describe!, ['externalOpportunityId', 'leadId', 'role']);
        const hash = recordHash(record);
        const state = held.get(key);
        if (pending(hash, state))
          out.push({
            isNew: state?.hash == null,
            record,
            hash,
            key: keyOf({
              external_opportunity_id: String(role.externalOpportunityId),
              marketo_lead_id: Number(role.leadId),
              role: String(role.role),
            }),
            errorIds: [key],
          });
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
