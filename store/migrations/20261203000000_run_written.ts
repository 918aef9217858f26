import type { Knex } from 'knex';

/**
 * `sync_run_written`: the contacts and accounts a run has written, so that its later pages (on any worker, in
 * any partition) point to them instead of reading them from Dynamics again. Bookkeeping, apart from the Marketo
 * tables; a run's rows go when it ends. `parent_id` is a contact's parent account as the run read it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sync_run_written', (t) => {
    t.text('sync_id').notNullable();
    t.text('entity').notNullable();
    t.text('record_id').notNullable();
    t.text('parent_id');
    t.primary(['sync_id', 'entity', 'record_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('sync_run_written');
}
