/**
 * The dialects every store-touching test runs against: SQLite always, PostgreSQL when TEST_DATABASE_URL is set
 * (.ci/run sets it). Each PostgreSQL database lives in a fresh schema that is dropped afterwards.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import knexFactory from 'knex';
import { openDatabase, type Database } from '../../src/store/db.js';
import { migrateLatest } from '../../src/store/migrate.js';

export const postgresUrl = process.env.TEST_DATABASE_URL;
export const dialects: Array<'sqlite' | 'postgres'> = postgresUrl ? ['sqlite', 'postgres'] : ['sqlite'];

export interface TestDatabase extends Database {
  /** Opens a second, independent connection pool to the same data (a second instance). */
  openTwin(): Database;
  schema?: string;
}

/** poolMax sizes each PostgreSQL pool (the database and every twin); races need one larger than the default 5. */
/**
 * Generous waits for the shared test databases: CI's machine is loaded and the concurrency tests queue many
 * requests on a small pool. Tests of the timeouts themselves open their databases with their own settings.
 */
const patient = { acquireTimeoutMs: 60_000, statementTimeoutMs: 60_000 };
// SQLite's busy timeout blocks the whole process (better-sqlite3 is synchronous): keep its default there.
const patientSqlite = { acquireTimeoutMs: 60_000 };

export async function createTestDatabase(dialect: 'sqlite' | 'postgres', options: { poolMax?: number } = {}): Promise<TestDatabase> {
  const poolMax = options.poolMax ?? 5;
  if (dialect === 'sqlite') {
    const file = `/tmp/nordlys-test-${crypto.randomBytes(6).toString('hex')}.sqlite`;
    const db = openDatabase({ sqliteFile: file, ...patientSqlite });
    await migrateLatest(db);
    return {
      ...db,
      openTwin: () => openDatabase({ sqliteFile: file, ...patientSqlite }),
      close: async () => {
        await db.close();
        for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
      },
    };
  }
  if (!postgresUrl) throw new Error('TEST_DATABASE_URL is not set');
  const schema = `t_${crypto.randomBytes(6).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: postgresUrl });
  await admin.raw(`create schema "${schema}"`);
  await admin.destroy();
  const db = openDatabase({ databaseUrl: postgresUrl, schema, poolMax, ...patient });
  await migrateLatest(db);
  return {
    ...db,
    schema,
    openTwin: () => openDatabase({ databaseUrl: postgresUrl, schema, poolMax, ...patient }),
    close: async () => {
      await db.close();
      const cleanup = knexFactory({ client: 'pg', connection: postgresUrl });
      await cleanup.raw(`drop schema "${schema}" cascade`);
      await cleanup.destroy();
    },
  };
}
