/** The first schema: oidc-provider artefacts, accounts with local credentials, signing keys, secrets, audit. */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('oidc_payloads', (t) => {
    t.string('model', 64).notNullable();
    t.string('id', 255).notNullable();
    t.text('payload').notNullable();
    t.string('grant_id', 255).nullable().index();
    t.string('user_code', 255).nullable().index();
    t.string('uid', 255).nullable().index();
    t.bigInteger('expires_at').nullable().index(); // epoch milliseconds
    t.bigInteger('consumed_at').nullable(); // epoch seconds, as oidc-provider reports it
    t.primary(['model', 'id']);
  });

  await knex.schema.createTable('accounts', (t) => {
    t.string('id', 64).primary(); // the OIDC sub (or the basis of a pairwise sub); never reused
    t.string('kind', 32).notNullable(); // local, idporten, bankid-se, ...
    t.string('status', 16).notNullable().defaultTo('active'); // active | deleted (a tombstone)
    t.text('name').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('last_login_at').nullable();
    t.bigInteger('deleted_at').nullable();
  });

  await knex.schema.createTable('local_credentials', (t) => {
    t.string('account_id', 64).primary().references('id').inTable('accounts').onDelete('CASCADE');
    t.string('email', 320).notNullable().unique(); // normalised: trimmed, lower-cased
    t.bigInteger('email_verified_at').nullable();
    t.text('password_hash').notNullable();
    t.string('legacy_username', 16).nullable().unique();
  });

  await knex.schema.createTable('signing_keys', (t) => {
    t.string('kid', 64).primary();
    t.string('alg', 16).notNullable();
    t.text('private_jwk').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('activates_at').notNullable(); // published from created_at, signs from activates_at
  });

  await knex.schema.createTable('instance_secrets', (t) => {
    t.string('name', 64).primary();
    t.text('value').notNullable();
    t.bigInteger('created_at').notNullable();
  });

  await knex.schema.createTable('audit_events', (t) => {
    t.increments('id').primary();
    t.bigInteger('at').notNullable().index();
    t.string('event', 64).notNullable();
    t.string('outcome', 16).notNullable();
    t.string('account_id', 64).nullable().index();
    t.string('client_id', 255).nullable();
    t.string('ip', 64).nullable();
    t.string('request_id', 64).nullable();
    t.text('detail').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['audit_events', 'instance_secrets', 'signing_keys', 'local_credentials', 'accounts', 'oidc_payloads']) {
    await knex.schema.dropTableIfExists(table);
  }
}
