/**
 * Clients live in the database (issue 10): one row per client. The metadata is RFC 7591 JSON without any
 * secret; the secret is encrypted under the key-encryption key. After a rotation the previous secret stays
 * valid until previous_secret_expires_at (the grace period). import_hash records the clients-file entry a
 * row was last imported from, so an unchanged file does not undo changes made through the API or CLI.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('clients', (t) => {
    t.string('client_id', 255).primary();
    t.text('metadata').notNullable();
    t.text('secret').nullable(); // v1.<kek fingerprint>.<iv>.<ciphertext>.<tag>
    t.text('previous_secret').nullable();
    t.bigInteger('previous_secret_expires_at').nullable(); // epoch ms
    t.string('import_hash', 64).nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('clients');
}
