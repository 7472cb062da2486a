/**
 * Retention covers every account kind. Tombstones keep no identity: the (broker, subject) rows of
 * already deleted accounts go (they hold national identity numbers, and their UNIQUE pair would stop
 * the same person from getting a new account). An index serves the retention query over all kinds.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex('federated_identities').whereIn('account_id', knex('accounts').select('id').where({ status: 'deleted' })).del();
  await knex('accounts').where({ status: 'deleted' }).update({ name: null });
  await knex.schema.alterTable('accounts', (t) => {
    t.index(['status', 'last_login_at', 'created_at'], 'accounts_inactive_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('accounts', (t) => {
    t.dropIndex(['status', 'last_login_at', 'created_at'], 'accounts_inactive_idx');
  });
}
