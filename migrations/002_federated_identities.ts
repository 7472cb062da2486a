/** Federated accounts: one account per (broker, upstream subject), never linked to any other account. */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('federated_identities', (t) => {
    t.string('account_id', 64).primary().references('id').inTable('accounts').onDelete('CASCADE');
    t.string('broker', 32).notNullable();
    t.string('subject', 64).notNullable(); // ID-porten pid, BankID personnummer
    t.text('profile').nullable(); // JSON: birthdate, given/family name as the upstream last said
    t.unique(['broker', 'subject']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('federated_identities');
}
