/**
 * Change counters (issue 13): a row per cached table whose version every change to that table raises in
 * the same statement, by a trigger, so an instance can tell with one primary-key read whether what it
 * cached is still current, whoever changed the table (an instance, the CLI, an operator's SQL). The
 * clients table is the first (src/store/client-cache.ts). On PostgreSQL the trigger also sends a NOTIFY
 * with the new version on `nordlys_clients:<schema>`, delivered when the transaction commits.
 */
import type { Knex } from 'knex';

const SQLITE_TRIGGERS = { insert: 'clients_inserted', update: 'clients_updated', delete: 'clients_deleted' };

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('change_versions', (t) => {
    t.string('name', 64).primary();
    t.bigInteger('version').notNullable();
  });
  await knex('change_versions').insert({ name: 'clients', version: 0 });
  if (knex.client.config.client === 'pg') {
    await knex.raw(`
      create function clients_changed() returns trigger language plpgsql as $$
      declare
        v bigint;
      begin
        update change_versions set version = version + 1 where name = 'clients' returning version into v;
        perform pg_notify('nordlys_clients:' || tg_table_schema, v::text);
        return null;
      end $$`);
    await knex.raw('create trigger clients_changed after insert or update or delete on clients for each row execute function clients_changed()');
    return;
  }
  for (const [event, name] of Object.entries(SQLITE_TRIGGERS)) {
    await knex.raw(`create trigger ${name} after ${event} on clients begin update change_versions set version = version + 1 where name = 'clients'; end`);
  }
}

export async function down(knex: Knex): Promise<void> {
  if (knex.client.config.client === 'pg') {
    await knex.raw('drop trigger if exists clients_changed on clients');
    await knex.raw('drop function if exists clients_changed()');
  } else {
    for (const name of Object.values(SQLITE_TRIGGERS)) await knex.raw(`drop trigger if exists ${name}`);
  }
  await knex.schema.dropTableIfExists('change_versions');
}
