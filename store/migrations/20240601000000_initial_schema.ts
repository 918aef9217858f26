import type { Knex } from 'knex';

/** SPEC section 2 tables, plus the sync's own bookkeeping tables. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('companies', (t) => {
    t.string('external_company_id', 36).primary();
    t.text('company');
    t.text('website');
    t.text('industry');
    t.text('updated_at').notNullable();
  });
  await knex.schema.createTable('leads', (t) => {
    t.increments('id').primary();
    t.string('dynamics_contact_id', 36).notNullable().unique();
    t.text('email');
    t.text('first_name');
    t.text('last_name');
    t.string('external_company_id', 36).index();
    t.text('updated_at').notNullable();
  });
  await knex.schema.createTable('opportunities', (t) => {
    t.string('external_opportunity_id', 36).primary();
    t.text('name');
    t.string('external_company_id', 36).index();
    t.text('description');
    t.double('amount');
    t.double('actual_amount');
    t.string('close_date', 10);
    t.string('actual_close_date', 10);
    t.text('stage');
    t.text('sales_stage');
    t.text('pipeline_phase');
    t.double('probability');
    t.text('status');
    t.boolean('is_closed').notNullable().defaultTo(false);
    t.boolean('is_won').notNullable().defaultTo(false);
    t.text('custom_fields').notNullable().defaultTo('{}');
    t.text('external_created_date');
    t.text('last_modified_at');
    t.boolean('is_deleted').notNullable().defaultTo(false);
    t.text('updated_at').notNullable();
    // Id of the last full sync that saw the row: rows a full sync did not see were deleted in Dynamics.
    t.text('last_seen_sync');
  });
  await knex.schema.createTable('opportunity_roles', (t) => {
    t.string('external_opportunity_id', 36).notNullable();
    t.integer('lead_id').unsigned().notNullable().references('id').inTable('leads').onDelete('CASCADE');
    t.string('role', 255).notNullable();
    t.boolean('is_primary').notNullable().defaultTo(false);
    t.text('updated_at').notNullable();
    t.primary(['external_opportunity_id', 'lead_id', 'role']);
    t.index(['lead_id']);
  });
  await knex.schema.createTable('sync_errors', (t) => {
    t.string('entity', 32).notNullable();
    t.string('record_id', 255).notNullable();
    t.text('error').notNullable();
    t.text('payload');
    t.text('first_seen_at').notNullable();
    t.text('last_seen_at').notNullable();
    t.primary(['entity', 'record_id']);
  });
  await knex.schema.createTable('sync_state', (t) => {
    t.string('key', 255).primary();
    t.text('value');
    t.text('updated_at').notNullable();
  });
  await knex.schema.createTable('sync_pending', (t) => {
    t.string('external_opportunity_id', 36).primary();
    t.text('reason');
    t.text('added_at').notNullable().index();
  });
  await knex.schema.createTable('stakeholder_connections', (t) => {
    t.string('connection_id', 36).primary();
    t.string('external_opportunity_id', 36).notNullable().index();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'stakeholder_connections',
    'sync_pending',
    'sync_state',
    'sync_errors',
    'opportunity_roles',
    'opportunities',
    'leads',
    'companies',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
