import type { Knex } from 'knex';

/**
 * SPEC section 7: what Marketo last accepted of each record (the push sends only what differs), each lead's
 * Marketo id, and the call budget that every worker shares (rate, concurrency, daily quota).
 *
 * A ledger row is keyed as Marketo dedupes the record; `hash` is the digest of the fields Marketo accepted
 * (null: Marketo does not hold it), `rejected_hash` the digest of what Marketo last skipped, so an unchanged
 * record that Marketo refused is not sent again at every run.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('leads', (t) => {
    t.bigInteger('marketo_lead_id');
  });
  const ledger = (table: string, key: (t: Knex.CreateTableBuilder) => void, id: 'integer' | 'guid') =>
    knex.schema.createTable(table, (t) => {
      key(t);
      if (id === 'integer') t.bigInteger('marketo_id');
      else t.text('marketo_guid');
      t.text('hash');
      t.text('rejected_hash');
      t.text('updated_at').notNullable();
    });
  await ledger('marketo_companies', (t) => t.text('external_company_id').primary(), 'integer');
  await ledger('marketo_leads', (t) => t.text('lookup_value').primary(), 'integer');
  await ledger('marketo_opportunities', (t) => t.text('external_opportunity_id').primary(), 'guid');
  await ledger(
    'marketo_roles',
    (t) => {
      t.text('external_opportunity_id').notNullable();
      t.bigInteger('marketo_lead_id').notNullable();
      t.text('role').notNullable();
      t.primary(['external_opportunity_id', 'marketo_lead_id', 'role']);
    },
    'guid',
  );
  // One row: the budget all workers share. Times are epoch milliseconds.
  await knex.schema.createTable('marketo_budget', (t) => {
    t.integer('id').primary();
    t.bigInteger('blocked_until').notNullable().defaultTo(0);
    t.integer('backoff_ms').notNullable().defaultTo(0);
    t.text('quota_day').notNullable().defaultTo('');
    t.integer('quota_used').notNullable().defaultTo(0);
    t.text('quota_exhausted_day');
  });
  await knex('marketo_budget').insert({ id: 1 });
  // Calls in flight or finished within the last window. `holder` is the activity that sent it: its next
  // attempt (after a killed worker) ends the calls the killed one left in flight.
  await knex.schema.createTable('marketo_calls', (t) => {
    t.increments('id').primary();
    t.bigInteger('started_at').notNullable();
    t.bigInteger('finished_at');
    t.text('holder');
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'marketo_calls',
    'marketo_budget',
    'marketo_roles',
    'marketo_opportunities',
    'marketo_leads',
    'marketo_companies',
  ])
    await knex.schema.dropTable(table);
  await knex.schema.alterTable('leads', (t) => {
    t.dropColumn('marketo_lead_id');
  });
}
