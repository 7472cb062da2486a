/**
 * Opens the database: the embedded SQLite file in the data folder by default, PostgreSQL when a URL is given.
 * Rules: one knex instance per process, handed to every repository; SQLite runs in WAL mode with foreign keys on.
 */
import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  knex: Knex;
  dialect: Dialect;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres:// URL; undefined opens SQLite at sqliteFile. */
  databaseUrl?: string | undefined;
  sqliteFile?: string;
  /** PostgreSQL schema to work in (tests isolate themselves this way); default public. */
  schema?: string;
  poolMax?: number;
}

export function openDatabase(options: DatabaseOptions): Database {
  if (options.databaseUrl) {
    const knex = knexFactory({
      client: 'pg',
      connection: options.databaseUrl,
      searchPath: options.schema ? [options.schema] : undefined,
      pool: { min: 0, max: options.poolMax ?? 10 },
    });
    return { knex, dialect: 'postgres', close: () => knex.destroy() };
  }
  const file = options.sqliteFile ?? ':memory:';
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: file },
    useNullAsDefault: true,
    // better-sqlite3 is synchronous: one connection serialises writes without SQLITE_BUSY surprises.
    pool: {
      min: 1,
      max: 1,
      afterCreate: (conn: { pragma(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) => {
        conn.pragma('journal_mode = WAL');
        conn.pragma('foreign_keys = ON');
        conn.pragma('busy_timeout = 5000');
        done(null, conn);
      },
    },
  });
  return { knex, dialect: 'sqlite', close: () => knex.destroy() };
}

/** True when the database answers a trivial query (used by /readyz). */
export async function isReachable(db: Database): Promise<boolean> {
  try {
    await db.knex.raw('select 1');
    return true;
  } catch {
    return false;
  }
}
