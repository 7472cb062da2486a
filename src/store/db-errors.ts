/**
 * Recognises database errors, on both dialects.
 * `isUniqueViolation`: an insert met a unique or primary key constraint (PostgreSQL 23505, SQLite's
 * SQLITE_CONSTRAINT_UNIQUE/_PRIMARYKEY, whose message says "UNIQUE constraint failed" either way); the
 * repositories turn it into their own answer (a duplicate address, a replayed assertion, a lost race).
 * `isDatabaseUnavailable`: the database is unavailable for now, rather than "this request is wrong" or
 * "our code is wrong". Rules enforced here:
 * - the whole chain is examined (`cause`, AggregateError `errors`), because knex and pg wrap each other;
 * - only transient conditions count: a refused, reset or timed-out connection, a pool that could not hand
 *   out a connection in time, a statement cancelled by `statement_timeout`, a server that is shutting down
 *   or starting, a lock or busy wait that ran out, a serialisation conflict that a retry resolves;
 * - constraint violations, syntax errors and everything else are not transient: they stay 500s.
 * The caller answers 503 with Retry-After for these; it never retries on the user's behalf.
 */

const UNIQUE_CODES = new Set(['23505', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);

/** True when `err` is the database refusing a row whose unique key (or primary key) is already taken. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null | undefined;
  return (typeof e?.code === 'string' && UNIQUE_CODES.has(e.code)) || (typeof e?.message === 'string' && /UNIQUE constraint failed/.test(e.message));
}

/** Node socket and resolver errors that a pg connection surfaces when the server cannot be reached. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** PostgreSQL SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
const PG_CODES = new Set([
  '57014', // query_canceled: our statement_timeout fired
  '57P01', // admin_shutdown: the server is stopping (pg_ctl stop -m fast)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or in recovery
  '57P05', // idle_session_timeout
  '55P03', // lock_not_available (lock_timeout)
  '25P03', // idle_in_transaction_session_timeout
  '40001', // serialization_failure: a retry succeeds
  '40P01', // deadlock_detected: a retry succeeds
]);
/** Whole SQLSTATE classes: 08 connection exception, 53 insufficient resources (e.g. too many connections). */
const PG_CLASSES = ['08', '53'];

/** Error names: knex's pool/query timeout and tarn's own timeout. */
const NAMES = new Set(['KnexTimeoutError', 'TimeoutError']);

/** pg's messages for connections that died or never came up (they carry no code). */
const MESSAGES = [
  /^Connection terminated/,
  /^Query read timeout/,
  /^Client has encountered a connection error and is not queryable/,
  /^Client was closed and is not queryable/,
  /^timeout expired/,
  /^Connection terminated due to connection timeout/,
  /the database system is (starting up|shutting down|in recovery mode)/,
  /Timeout acquiring a connection/,
];

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
}

function isTransientOne(e: ErrorLike): boolean {
  if (typeof e.name === 'string' && NAMES.has(e.name)) return true;
  if (typeof e.code === 'string') {
    const code = e.code;
    if (SOCKET_CODES.has(code) || PG_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && PG_CLASSES.includes(code.slice(0, 2))) return true;
    // better-sqlite3: SQLITE_BUSY and its extended codes (SQLITE_BUSY_SNAPSHOT …) once busy_timeout ran out.
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return true;
  }
  // knex prefixes pg's message with the SQL ("select … - Connection terminated"), so look at the tail too.
  const message = typeof e.message === 'string' ? e.message : '';
  const tail = message.includes(' - ') ? message.slice(message.lastIndexOf(' - ') + 3) : message;
  return MESSAGES.some((re) => re.test(message) || re.test(tail));
}

/** True when `err` (or anything it wraps) says the database is unavailable for the moment. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  // Bounded: a cause chain is short; the bound only guards against odd cyclic objects.
  while (queue.length > 0 && seen.size < 20) {
    const current = queue.shift();
    if (!current || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    const e = current as ErrorLike;
    if (isTransientOne(e)) return true;
    if (e.cause !== undefined) queue.push(e.cause);
    if (Array.isArray(e.errors)) queue.push(...(e.errors as unknown[]));
  }
  return false;
}

/**
 * A log-safe summary of a database error: name, SQLSTATE or errno code (as `errorCode`: the logger
 * redacts anything called `code`, which is an OAuth code elsewhere) and the first line of the message,
 * which names the SQL with placeholders only — no parameters, no stack.
 */
export function describeDatabaseError(err: unknown): { name?: string; errorCode?: string; message?: string } {
  const e = (err ?? {}) as ErrorLike;
  const message = typeof e.message === 'string' ? e.message.split('\n')[0] : undefined;
  return {
    ...(typeof e.name === 'string' ? { name: e.name } : {}),
    ...(typeof e.code === 'string' ? { errorCode: e.code } : {}),
    ...(message ? { message: message.slice(0, 300) } : {}),
  };
}
