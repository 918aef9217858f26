/**
 * The Marketo push's reads and bookkeeping (SPEC section 7, rule 2): the mirror rows in key order, next to
 * what Marketo last accepted of each (the `marketo_*` tables), and the record of each answer. The push
 * (marketo/) decides what to send; here is only SQL.
 */
import type { Knex } from 'knex';
import type { CompanyRow, LeadRow, OpportunityMirrorRow, SyncErrorRow } from '../rules';
import { upsertErrors } from './page-writer';
import { deleteIn, selectIn, upsertRows } from './sql';

/** What Marketo last accepted of a record (`hash`) and last refused (`rejected_hash`). */
export interface LedgerState {
  hash: string | null;
  rejected_hash: string | null;
}

export type LeadMirrorRow = LeadRow & { updated_at: string };
export interface RoleMirrorRow {
  external_opportunity_id: string;
  marketo_lead_id: number;
  role: string;
  is_primary: boolean;
}
export type LedgerTable = 'marketo_companies' | 'marketo_leads' | 'marketo_opportunities' | 'marketo_roles';

const CHUNK = 2_000;
/** What a lead is built from, and which contact of an email was updated last. */
const LEAD_COLUMNS = [
  'dynamics_contact_id',
  'email',
  'first_name',
  'last_name',
  'external_company_id',
  'updated_at',
];
const bool = (value: unknown): boolean => value === true || value === 1 || value === '1';

export class MarketoLedger {
  constructor(private readonly knex: Knex) {}

  /** The next companies after `after` in key order, each with its ledger state. */
  async companies(after: string): Promise<(CompanyRow & LedgerState)[]> {
    return (await this.knex('companies as c')
      .leftJoin('marketo_companies as m', 'm.external_company_id', 'c.external_company_id')
      .select('c.external_company_id', 'c.company', 'c.website', 'c.industry', 'm.hash', 'm.rejected_hash')
      .where('c.external_company_id', '>', after)
      .orderBy('c.external_company_id')
      .limit(CHUNK)) as (CompanyRow & LedgerState)[];
  }

  /** The next contacts after `after` in contact id order (a custom lookup field: one lead each). */
  async leadsById(after: string): Promise<LeadMirrorRow[]> {
    return (await this.knex('leads')
      .select(LEAD_COLUMNS)
      .where('dynamics_contact_id', '>', after)
      .orderBy('dynamics_contact_id')
      .limit(CHUNK)) as LeadMirrorRow[];
  }

  /** The contacts of the next emails after `after` (leads by email: one lead per email). */
  async leadsByEmail(after: string): Promise<{ emails: string[]; contacts: LeadMirrorRow[] }> {
    const emails = (
      (await this.knex('leads')
        .distinct('email')
        .where('email', '>', after)
        .orderBy('email')
        .limit(CHUNK)) as { email: string }[]
    ).map((row) => row.email);
    const contacts = await selectIn<LeadMirrorRow>(this.knex, 'leads', 'email', emails, LEAD_COLUMNS);
    return { emails, contacts };
  }

  /** Contacts that leads by email cannot send. */
  async contactIdsWithoutEmail(): Promise<string[]> {
    const rows = (await this.knex('leads')
      .select('dynamics_contact_id')
      .whereNull('email')
      .orWhere('email', '')) as { dynamics_contact_id: string }[];
    return rows.map((row) => row.dynamics_contact_id);
  }

  async states(
    table: LedgerTable,
    column: string,
    keys: readonly string[],
  ): Promise<Map<string, LedgerState>> {
    const rows = await selectIn<LedgerState & Record<string, string>>(this.knex, table, column, keys, [
      column,
      'hash',
      'rejected_hash',
    ]);
    return new Map(rows.map((row) => [String(row[column]), row]));
  }

  /** The next live opportunities after `after`, each with its ledger state. */
  async opportunities(after: string): Promise<(OpportunityMirrorRow & LedgerState)[]> {
    const rows = (await this.knex('opportunities as o')
      .leftJoin('marketo_opportunities as m', 'm.external_opportunity_id', 'o.external_opportunity_id')
      .select(
        'o.external_opportunity_id',
        'o.name',
        'o.description',
        'o.amount_base',
        'o.close_date',
        'o.stage',
        'o.is_closed',
        'o.is_won',
        'o.probability',
        'o.external_company_id',
        'o.external_created_date',
        'o.custom_fields',
        'm.hash',
        'm.rejected_hash',
      )
      .where('o.external_opportunity_id', '>', after)
      .andWhere('o.is_deleted', false)
      .orderBy('o.external_opportunity_id')
      .limit(CHUNK)) as (OpportunityMirrorRow & LedgerState)[];
    return rows.map((row) => ({
      ...row,
      is_closed: bool(row.is_closed),
      is_won: bool(row.is_won),
      amount_base: row.amount_base === null ? null : Number(row.amount_base),
      probability: row.probability === null ? null : Number(row.probability),
    }));
  }

  /** Opportunities Marketo holds that the mirror has deleted (or no longer has). */
  async deletedOpportunities(after: string): Promise<string[]> {
    const rows = (await this.knex('marketo_opportunities as m')
      .leftJoin('opportunities as o', 'o.external_opportunity_id', 'm.external_opportunity_id')
      .select('m.external_opportunity_id')
      .whereNotNull('m.hash')
      .andWhere('m.external_opportunity_id', '>', after)
      .andWhere((q) => {
        void q.where('o.is_deleted', true).orWhereNull('o.external_opportunity_id');
      })
      .orderBy('m.external_opportunity_id')
      .limit(CHUNK)) as { external_opportunity_id: string }[];
    return rows.map((row) => row.external_opportunity_id);
  }

  /** The end of the next range of opportunity ids after `after` (roles are compared a range at a time). */
  async opportunityRangeEnd(after: string): Promise<string | undefined> {
    const rows = (await this.knex
      .select('id')
      .from(
        this.knex
          .select('external_opportunity_id as id')
          .from('opportunities')
          .where('external_opportunity_id', '>', after)
          .union((q) => {
            void q
              .select('external_opportunity_id as id')
              .from('marketo_roles')
              .where('external_opportunity_id', '>', after);
          })
          .as('ids'),
      )
      .orderBy('id')
      .offset(CHUNK - 1)
      .limit(1)) as { id: string }[];
    return rows[0]?.id;
  }

  /**
   * The roles Marketo should hold for opportunities in (after, upTo]: those of live opportunities that Marketo
   * holds, whose lead has a Marketo id (a role whose lead or opportunity is not in Marketo waits for it).
   */
  async desiredRoles(after: string, upTo: string | undefined): Promise<RoleMirrorRow[]> {
    const query = this.knex('opportunity_roles as r')
      .join('leads as l', 'l.id', 'r.lead_id')
      .join('opportunities as o', 'o.external_opportunity_id', 'r.external_opportunity_id')
      .join('marketo_opportunities as mo', 'mo.external_opportunity_id', 'r.external_opportunity_id')
      .select('r.external_opportunity_id', 'l.marketo_lead_id', 'r.role', 'r.is_primary')
      .where('r.external_opportunity_id', '>', after)
      .andWhere('o.is_deleted', false)
      .whereNotNull('mo.hash')
      .whereNotNull('l.marketo_lead_id');
    if (upTo !== undefined) void query.andWhere('r.external_opportunity_id', '<=', upTo);
    return ((await query) as RoleMirrorRow[]).map((row) => ({
      ...row,
      marketo_lead_id: Number(row.marketo_lead_id),
      is_primary: bool(row.is_primary),
    }));
  }

  async ledgerRoles(after: string, upTo: string | undefined): Promise<(RoleMirrorRow & LedgerState)[]> {
    const query = this.knex('marketo_roles')
      .select('external_opportunity_id', 'marketo_lead_id', 'role', 'hash', 'rejected_hash')
      .where('external_opportunity_id', '>', after);
    if (upTo !== undefined) void query.andWhere('external_opportunity_id', '<=', upTo);
    return ((await query) as (RoleMirrorRow & LedgerState)[]).map((row) => ({
      ...row,
      marketo_lead_id: Number(row.marketo_lead_id),
    }));
  }

  /** Marketo took these records: the ledger keeps their digests (and ids), their push errors close. */
  async accepted(
    table: LedgerTable,
    rows: Record<string, unknown>[],
    errors: { entity: SyncErrorRow['entity']; recordIds: string[] },
    now: string,
  ): Promise<void> {
    await this.knex.transaction(async (trx) => {
      await upsertRows(trx, table, rows, keyColumns(table), {
        constants: { rejected_hash: null, updated_at: now },
      });
      await deleteIn(trx, 'sync_errors', 'record_id', errors.recordIds, { entity: errors.entity });
    });
  }

  /** Marketo skipped these records: each is a sync error, and is not sent again until it changes. */
  async rejected(
    table: LedgerTable,
    rows: Record<string, unknown>[],
    errors: SyncErrorRow[],
    now: string,
  ): Promise<void> {
    await this.knex.transaction(async (trx) => {
      await upsertRows(trx, table, rows, keyColumns(table), {
        merge: ['rejected_hash', 'updated_at'],
        constants: { updated_at: now },
      });
      await upsertErrors(trx, errors, now);
    });
  }

  /** Marketo deleted these records (or did not have them): they leave the ledger. */
  async deleted(table: LedgerTable, keys: Record<string, unknown>[]): Promise<void> {
    const columns = keyColumns(table);
    await this.knex.transaction(async (trx) => {
      for (let i = 0; i < keys.length; i += 300) {
        const part = keys.slice(i, i + 300);
        await trx(table)
          .whereIn(
            columns,
            part.map((key) => columns.map((column) => key[column]) as string[]),
          )
          .delete();
      }
    });
  }

  /** Sync errors that are not Marketo's answers (contacts leads by email cannot send). */
  async recordErrors(errors: SyncErrorRow[], now: string) {
    await upsertErrors(this.knex, errors, now);
  }

  /**
   * Every contact's `marketo_lead_id` from the lead Marketo holds for its lookup value (its email, or its own
   * id with a custom lookup field); null while Marketo holds none.
   */
  async linkLeadIds(byEmail: boolean): Promise<void> {
    const lookup = byEmail ? 'leads.email' : 'leads.dynamics_contact_id';
    const marketoId = `(select m.marketo_id from marketo_leads m where m.lookup_value = ${lookup} and m.hash is not null)`;
    await this.knex.raw(
      `update leads set marketo_lead_id = ${marketoId} where marketo_lead_id is distinct from ${marketoId}`,
    );
  }

  /** Per ledger table: records Marketo holds. */
  async held(): Promise<Record<LedgerTable, number>> {
    const count = async (table: LedgerTable): Promise<number> => {
      const row = (await this.knex(table).whereNotNull('hash').count({ n: '*' }).first()) as {
        n: number | string;
      };
      return Number(row.n);
    };
    return {
      marketo_companies: await count('marketo_companies'),
      marketo_leads: await count('marketo_leads'),
      marketo_opportunities: await count('marketo_opportunities'),
      marketo_roles: await count('marketo_roles'),
    };
  }
}

function keyColumns(table: LedgerTable): string[] {
  switch (table) {
    case 'marketo_companies':
      return ['external_company_id'];
    case 'marketo_leads':
      return ['lookup_value'];
    case 'marketo_opportunities':
      return ['external_opportunity_id'];
    case 'marketo_roles':
      return ['external_opportunity_id', 'marketo_lead_id', 'role'];
  }
}
