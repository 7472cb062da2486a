/**
 * The clients table's change counter (migration 008_change_versions): a trigger raises it with every
 * change to the table, in the same statement, so a reader that sees version v sees every change up to v.
 * On PostgreSQL the trigger also notifies `clientsChannel(schema)` with the new version at commit.
 */
import type { Knex } from 'knex';
import { rowsOf, sentPrepared } from './compiled-statements.js';

/** The NOTIFY channel of the clients table in `schema` (as the trigger names it: tg_table_schema). */
export function clientsChannel(schema: string): string {
  return `nordlys_clients:${schema}`;
}

/** One statement text for both dialects (a primary-key read at most client authentications: not built by knex each time). */
const READ_VERSION = 'select "version" from "change_versions" where "name" = ? limit 1';

export async function readClientsVersion(knex: Knex): Promise<number> {
  const rows = rowsOf<{ version: number | string }>(await sentPrepared(knex, READ_VERSION, ['clients']));
  return rows[0] ? Number(rows[0].version) : 0;
}

/** The schema the tables live in (PostgreSQL), for the channel name. */
export async function currentSchema(knex: Knex): Promise<string> {
  const result = (await knex.raw('select current_schema() as schema')) as { rows: Array<{ schema: string }> };
  return result.rows[0]!.schema;
}
