/**
 * Local e-mail accounts: self-service flows (registration and password reset, each with its current
 * one-time code) and rate-limit counters shared by every instance.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('self_service_flows', (t) => {
    t.string('id', 64).primary(); // random, in the page URL; useless without the interaction cookie
    t.string('kind', 16).notNullable(); // registration | recovery
    t.string('state', 16).notNullable(); // code_sent | verified | completed
    t.string('interaction_uid', 255).notNullable().index(); // the login this flow belongs to
    t.string('locale', 8).notNullable(); // the language of the pages and the mail
    t.string('email', 320).notNullable(); // normalised
    t.string('account_id', 64).nullable(); // recovery: the account found when the code was sent
    t.string('code_hmac', 128).notNullable(); // HMAC of the current code; a random value when no code was mailed
    t.bigInteger('code_sent_at').notNullable();
    t.bigInteger('code_expires_at').notNullable();
    t.integer('code_attempts').notNullable().defaultTo(0); // counted before each check
    t.bigInteger('code_consumed_at').nullable(); // set once, by a conditional update
    t.integer('sends').notNullable().defaultTo(1);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable().index();
    t.bigInteger('verified_at').nullable();
    t.bigInteger('completed_at').nullable();
  });

  await knex.schema.createTable('rate_limits', (t) => {
    t.string('key', 160).primary(); // e.g. login:account:<id>, login:ip:<ip>, send:email:<hmac>
    t.integer('hits').notNullable();
    t.bigInteger('window_started_at').notNullable();
    t.bigInteger('blocked_until').nullable();
    t.bigInteger('updated_at').notNullable().index();
  });

  // Retention looks for active local accounts by their last login.
  await knex.schema.alterTable('accounts', (t) => {
    t.index(['kind', 'status', 'last_login_at'], 'accounts_retention_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('accounts', (t) => {
    t.dropIndex(['kind', 'status', 'last_login_at'], 'accounts_retention_idx');
  });
  await knex.schema.dropTableIfExists('rate_limits');
  await knex.schema.dropTableIfExists('self_service_flows');
}
