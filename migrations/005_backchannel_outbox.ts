/**
 * The back-channel logout outbox: every logout token we owe a relying party is written here before it is
 * sent, so a restart or a relying party that is briefly down does not lose a logout. Rows go when delivered,
 * or when the token has expired and no relying party would accept it any more.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('backchannel_outbox', (t) => {
    t.string('id', 64).primary();
    t.string('client_id', 255).notNullable();
    t.text('url').notNullable(); // the client's backchannel_logout_uri when the logout happened
    t.text('logout_token').notNullable(); // a signed JWT; short-lived, never logged
    t.integer('attempts').notNullable().defaultTo(0);
    t.bigInteger('next_attempt_at').notNullable().index(); // epoch ms; also the lease of a delivery in progress
    t.bigInteger('expires_at').notNullable(); // epoch ms: the token's exp
    t.bigInteger('created_at').notNullable();
    t.text('last_error').nullable(); // the cause of the last failed attempt (no token, no body)
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('backchannel_outbox');
}
