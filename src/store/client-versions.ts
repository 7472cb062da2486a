/**
 * The clients table's change counter (migration 008_change_versions): a trigger raises it with every
 * change to the table, in the same statement, so a reader that sees version v sees every change up to v.
 * On PostgreSQL the trigger also notifies `clientsChannel(schema)` with the new version at commit.
 */
import type { Knex } from 'knex';

/** The NOTIFY channel of the clients table in `schema` (as the trigger names it: tg_table_schema). */
export function clientsChannel(schema: string): string {
  return `nordlys_clients:${schema}`;
}

export async function readClientsVersion(knex: Knex): Promise<number> {
  const row = (await knex('change_versions').where({ name: 'clients' }).first('version')) as { version: number | string } | undefined;
  return row ? Number(row.version) : 0;
}

/** The schema the tables live in (PostgreSQL), for the channel name. */
export async function currentSchema(knex: Knex): Promise<string> {
  const result = (await knex.raw('select current_schema() as schema')) as { rows: Array<{ schema: string }> };
  return result.rows[0]!.schema;
}
