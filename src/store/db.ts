/**
 * Opens the database: the embedded SQLite file in the data folder by default, PostgreSQL when a URL is given.
 * Rules: one knex instance per process, handed to every repository; SQLite runs in WAL mode with foreign keys on;
 * on PostgreSQL a notification listener gets a connection of its own (LISTEN holds it for good).
 * Every wait on the database is bounded: getting a connection (acquire timeout, which also bounds connecting),
 * each statement (PostgreSQL `statement_timeout`, and a client-side read timeout a little longer for a server
 * that stopped answering altogether), and a connection left busy by such a timeout is never handed out again,
 * so the pool heals by itself when the database returns. knex's own log lines go to our JSON logger, without
 * query parameters.
 */
import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Logger } from '../logger.js';
import { prepareStatementsOn } from './compiled-statements.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  knex: Knex;
  dialect: Dialect;
  /**
   * PostgreSQL only: a connection of its own, outside the pool, that LISTENs on `channel` and hands each
   * notification's payload to `onNotify`; `onLost` is called (maybe more than once) when it drops.
   */
  listen?(channel: string, onNotify: (payload: string) => void, onLost: (err?: unknown) => void): Promise<{ close(): Promise<void> }>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres:// URL; undefined opens SQLite at sqliteFile. */
  databaseUrl?: string | undefined;
  sqliteFile?: string;
  /** PostgreSQL schema to work in (tests isolate themselves this way); default public. */
  schema?: string;
  poolMax?: number;
  /** Longest wait for a pooled connection, connecting included (config DB_ACQUIRE_TIMEOUT_MS). */
  acquireTimeoutMs?: number;
  /** Longest a statement may run or wait for a lock (config DB_STATEMENT_TIMEOUT_MS). */
  statementTimeoutMs?: number;
  /** Where knex's warnings go; without one they are dropped rather than printed as plain text. */
  logger?: Logger | undefined;
  /** PostgreSQL: send the hot statements as named prepared statements (config DB_PREPARED_STATEMENTS; default true). */
  preparedStatements?: boolean;
}

/** The documented defaults of DB_ACQUIRE_TIMEOUT_MS and DB_STATEMENT_TIMEOUT_MS, for callers without a config. */
export const DEFAULT_ACQUIRE_TIMEOUT_MS = 2000;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 5000;
/** How much longer than statement_timeout the client waits before it gives up on a silent server. */
const READ_TIMEOUT_GRACE_MS = 1000;

/** knex's logger interface, pointed at pino. knex hands over strings (sometimes with a stack) or query objects. */
function knexLog(logger: Logger | undefined): Knex.Config['log'] {
  const line = (message: unknown): string => {
    if (typeof message === 'string') return message.split('\n')[0]!.slice(0, 500);
    // A query object: its SQL text has placeholders only; its bindings may hold secrets and are never logged.
    const sql = (message as { sql?: unknown } | null)?.sql;
    return typeof sql === 'string' ? `query: ${sql.slice(0, 500)}` : 'knex message';
  };
  return {
    warn: (message: unknown) => logger?.warn({ source: 'knex' }, line(message)),
    error: (message: unknown) => logger?.error({ source: 'knex' }, line(message)),
    deprecate: (method: unknown, alternative: unknown) =>
      logger?.warn({ source: 'knex' }, `${String(method)} is deprecated, use ${String(alternative)}`),
    debug: (message: unknown) => logger?.debug({ source: 'knex' }, line(message)),
  };
}

/** pg's client: a connection whose last query timed out on our side still waits for the server's answer. */
interface PgConnection {
  readyForQuery?: boolean;
}

export function openDatabase(options: DatabaseOptions): Database {
  const acquireTimeoutMs = options.acquireTimeoutMs ?? DEFAULT_ACQUIRE_TIMEOUT_MS;
  const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const log = knexLog(options.logger);
  if (options.databaseUrl) {
    const knex = knexFactory({
      client: 'pg',
      connection: {
        connectionString: options.databaseUrl,
        application_name: 'nordlys-id',
        // Server side: the statement is cancelled (57014) and the connection stays usable.
        statement_timeout: statementTimeoutMs,
        // Client side: a stalled or unreachable server cannot hold a request beyond this.
        query_timeout: statementTimeoutMs + READ_TIMEOUT_GRACE_MS,
        connectionTimeoutMillis: acquireTimeoutMs,
        keepAlive: true,
      },
      searchPath: options.schema ? [options.schema] : undefined,
      acquireConnectionTimeout: acquireTimeoutMs,
      log,
      pool: {
        min: 0,
        max: options.poolMax ?? 10,
        createTimeoutMillis: acquireTimeoutMs,
        // A timed-out query leaves its connection waiting for the server: never hand that one out again
        // (knex already drops connections that reported an error or ended).
        validate: (conn: PgConnection) => conn.readyForQuery !== false,
      },
    });
    if (options.preparedStatements !== false) prepareStatementsOn(knex);
    const listen = async (channel: string, onNotify: (payload: string) => void, onLost: (err?: unknown) => void) => {
      const client = new pg.Client({ connectionString: options.databaseUrl, application_name: 'nordlys-id listener', connectionTimeoutMillis: acquireTimeoutMs, keepAlive: true });
      client.on('notification', (message) => {
        if (message.channel === channel) onNotify(message.payload ?? '');
      });
      client.on('error', onLost);
      client.on('end', () => onLost());
      try {
        await client.connect();
        await client.query(`listen "${channel.replace(/"/g, '""')}"`);
      } catch (err) {
        await client.end().catch(() => undefined);
        throw err;
      }
      return { close: () => client.end() };
    };
    return { knex, dialect: 'postgres', listen, close: () => knex.destroy() };
  }
  const file = options.sqliteFile ?? ':memory:';
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: file },
    useNullAsDefault: true,
    acquireConnectionTimeout: acquireTimeoutMs,
    log,
    // better-sqlite3 is synchronous: one connection serialises writes without SQLITE_BUSY surprises.
    pool: {
      min: 1,
      max: 1,
      afterCreate: (conn: { pragma(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) => {
        conn.pragma('journal_mode = WAL');
        conn.pragma('foreign_keys = ON');
        // Another process (the CLI) may hold the write lock: wait at most as long as a statement may run.
        conn.pragma(`busy_timeout = ${Math.trunc(statementTimeoutMs)}`);
        done(null, conn);
      },
    },
  });
  return { knex, dialect: 'sqlite', close: () => knex.destroy() };
}

/**
 * True when the database answers a trivial query within `timeoutMs` (used by /readyz). The query itself
 * is bounded by the pool's timeouts; this bound only makes the probe answer sooner.
 */
export async function isReachable(db: Database, timeoutMs = DEFAULT_ACQUIRE_TIMEOUT_MS): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const probe = db.knex.raw('select 1').then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([probe, expired]);
  } finally {
    clearTimeout(timer);
  }
}
