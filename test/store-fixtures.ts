/** Rows for store tests. */
import type { OpportunityRow } from '../rules';
import { guid } from './rules-fixtures';

/** Opportunity `n` as the store writes it (id prefix b0b00000), with `extra` columns replaced. */
export function opp(n: number, extra: Partial<OpportunityRow> = {}): OpportunityRow {
  return {
    external_opportunity_id: guid(n, 'b0b00000'),
    name: `Deal ${n}`,
    external_company_id: null,
    description: 'Ünïcode 😀 text',
    amount: 1234.5,
    actual_amount: null,
    currency: 'EUR',
    amount_base: 1341.85,
    actual_amount_base: null,
    close_date: '2024-03-31',
    actual_close_date: null,
    stage: 'Open',
    sales_stage: 'Develop',
    pipeline_phase: '2-Develop',
    probability: 40,
    status: 'In Progress',
    is_closed: false,
    is_won: false,
    custom_fields: '{"new_region":"EMEA"}',
    external_created_date: '2024-01-01T10:00:00Z',
    last_modified_at: '2024-02-01T11:30:00Z',
    ...extra,
  };
}
