/**
 * Runs the migrations in migrations/ against either dialect. Idempotent: safe at every start.
 * Rule: instances that start together on one database migrate one after the other. On PostgreSQL a
 * transaction-level advisory lock, held on one connection while the migrations run on others, makes the
 * later ones wait and then find nothing to do. The lock is the schema's (its name hashed into the second
 * key), so deployments that share a server in schemas of their own do not wait for each other; SQLite (one process in practice) retries while knex's
 * own migration lock or the creation of its tables shows another migrator at work, for a bounded time.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Knex } from 'knex';
import { migrations, type Migration } from '../../migrations/index.js';
import type { Database } from './db.js';

const source: Knex.MigrationSource<Migration> = {
  getMigrations: async () => migrations,
  getMigrationName: (m) => m.name,
  getMigration: async (m) => m,
};

/** An arbitrary constant naming "the schema migrations" among PostgreSQL advisory locks (the first key). */
const MIGRATION_LOCK = 477_102_061;

const run = async (db: Database): Promise<string[]> => {
  const [, applied] = (await db.knex.migrate.latest({ migrationSource: source })) as [number, string[]];
  return applied;
};

/** Another migrator got there first: knex's lock is taken, or its bookkeeping table was just created. */
const isConcurrentMigration = (err: unknown): boolean => {
  const e = err as { name?: string; message?: string };
  return e.name === 'MigrationLocked' || /knex_migrations(_lock)?\W+already exists/.test(e.message ?? '');
};

/** Takes this schema's migration lock until `trx` ends (PostgreSQL). */
export async function lockMigrations(trx: Knex.Transaction): Promise<void> {
  await trx.raw('select pg_advisory_xact_lock(?, hashtext(current_schema()))', [MIGRATION_LOCK]);
}

/** Applies pending migrations; returns the names applied by this call. */
export async function migrateLatest(db: Database): Promise<string[]> {
  if (db.dialect === 'postgres') {
    return db.knex.transaction(async (trx) => {
      await lockMigrations(trx);
      return run(db);
    });
  }
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await run(db);
    } catch (err) {
      if (!isConcurrentMigration(err) || attempt >= 100) throw err;
      await delay(100);
    }
  }
}

export async function rollbackAll(db: Database): Promise<void> {
  await db.knex.migrate.rollback({ migrationSource: source }, true);
}
