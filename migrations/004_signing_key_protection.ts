/**
 * Signing keys: a revocation time, and the marking of keys stored before encryption at rest.
 * Rows that exist now (plaintext JWKs) are prefixed `plain:`; start-up encrypts exactly those under the
 * key-encryption key. A plaintext row written later carries no mark and is refused, so nobody can slip
 * an unencrypted key into the table after this migration.
 */
import type { Knex } from 'knex';

export const LEGACY_PLAINTEXT_MARK = 'plain:';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('signing_keys', (t) => {
    t.bigInteger('revoked_at').nullable(); // epoch milliseconds; a revoked key is neither published nor used
  });
  await knex('signing_keys')
    .where('private_jwk', 'like', '{%')
    .update({ private_jwk: knex.raw('? || private_jwk', [LEGACY_PLAINTEXT_MARK]) });
}

export async function down(knex: Knex): Promise<void> {
  // Encrypted rows stay encrypted (the KEK is not known here): code before this migration cannot read them.
  await knex('signing_keys')
    .where('private_jwk', 'like', `${LEGACY_PLAINTEXT_MARK}%`)
    .update({ private_jwk: knex.raw('substr(private_jwk, ?)', [LEGACY_PLAINTEXT_MARK.length + 1]) });
  await knex.schema.alterTable('signing_keys', (t) => {
    t.dropColumn('revoked_at');
  });
}
