import type { Knex } from 'knex';

/** SPEC sections 2 and 3: each opportunity's currency and its amounts in the organisation's base currency. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('opportunities', (t) => {
    t.text('currency');
    // The same type as amount and actual_amount, whose meaning (the opportunity's own currency) stays.
    t.double('amount_base');
    t.double('actual_amount_base');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('opportunities', (t) => {
    t.dropColumn('actual_amount_base');
    t.dropColumn('amount_base');
    t.dropColumn('currency');
  });
}
