/**
 * Orders of decoupled brokers (BankID): one row per interaction, holding the upstream order, the time of
 * the last collect and its result, so every instance polls the same order at the same pace and reads the
 * same answer. Epoch milliseconds by the service's clock.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('decoupled_orders', (t) => {
    t.string('uid', 128).primary(); // the interaction's uid
    t.string('broker', 64).notNullable();
    t.string('order_ref', 128).nullable(); // null when the order could not be started
    t.text('payload').notNullable(); // the broker state (with the QR secret: never sent to a browser), requirement, mode
    t.string('status', 16).notNullable(); // pending | failed | complete | cancelled
    t.bigInteger('last_collected_at').notNullable().defaultTo(0); // when the last collect was claimed
    t.bigInteger('collecting_until').notNullable().defaultTo(0); // a collect in flight holds the order until then
    t.text('last_result').nullable(); // what the last collect said (hint, message id, the finished login)
    t.bigInteger('expires_at').notNullable().index();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('decoupled_orders');
}
