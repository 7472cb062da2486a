/** Runs the migrations in migrations/ against either dialect. Idempotent: safe at every start. */
import type { Knex } from 'knex';
import { migrations, type Migration } from '../../migrations/index.js';
import type { Database } from './db.js';

const source: Knex.MigrationSource<Migration> = {
  getMigrations: async () => migrations,
  getMigrationName: (m) => m.name,
  getMigration: async (m) => m,
};

/** Applies pending migrations; returns the names applied by this call. */
export async function migrateLatest(db: Database): Promise<string[]> {
  const [, applied] = (await db.knex.migrate.latest({ migrationSource: source })) as [number, string[]];
  return applied;
}

export async function rollbackAll(db: Database): Promise<void> {
  await db.knex.migrate.rollback({ migrationSource: source }, true);
}
