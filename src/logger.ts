/**
 * JSON logs through pino. Rules: secrets never reach a log, and a refusal's own error code always does.
 * - redaction goes by where a secret lives, not by a bare field name that our error codes share: a
 *   `code` is redacted only where request parameters live (query, body, params, form — authorization and
 *   one-time codes), so `{"code":"csrf_token_invalid"}` or an `err.code` such as `ECONNREFUSED` stays;
 * - field names that only ever hold secrets (passwords, tokens, client secrets and assertions, cookies,
 *   authorization headers, the CSRF token) are redacted at any of the first three levels;
 * - a database error's `detail` repeats the row's values (PostgreSQL's unique violation says
 *   `Key (broker, subject)=(idporten, <national id>)`): it is redacted on logged errors and their causes;
 * - a URL-shaped field (url, location, redirect, href, referer) keeps its path; its query string, which
 *   carries codes and state, is replaced;
 * - request logs carry the path without its query string (src/http/request-context.ts).
 * Cost: the rules are applied by one walk over the logged object (copying only what changes), not by
 * pino's path redaction, whose wildcard paths cost about 100 µs a line: more than the request it logs.
 * The service's own output is an asynchronous destination (a log line never waits for stdout), flushed
 * by logger.flush() on shutdown and synchronously when the process exits, a fatal exit included. Lines
 * are written in batches of about 4 KiB, or every 100 ms when fewer wait: one write per line cost a
 * threadpool round trip and a pipe write each, about 40 µs of CPU a line, more than formatting it (issue 13:
 * logging at info cost about 11 % of a client_credentials request; measured per request of two lines,
 * 85 → 32 µs of CPU). A process killed outright (SIGKILL) loses at most the last tenth of a second.
 */
import pino, { type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Field names that hold nothing but secrets, wherever they appear (down to the third level). */
const SECRET_FIELDS = new Set([
  'password',
  'new_password',
  'passwordHash',
  'password_hash',
  'client_secret',
  'clientSecret',
  'client_assertion',
  'code_verifier',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'id_token_hint',
  'logout_token',
  'authorization',
  'cookie',
  'cookies',
  'set-cookie',
  'secret',
  'qrStartSecret',
  '_csrf',
  'csrf',
]);

/** Where request parameters live, alone or under a request object (`req.query`, `request.body`, …). */
const PARAMETER_HOLDERS = new Set(['query', 'body', 'params', 'form']);
/** Parameters that are secret only as parameters: `code` is also the name of our error codes. */
const PARAMETER_SECRETS = new Set(['code', 'user_code', 'device_code']);

const URL_FIELDS = new Set(['url', 'location', 'redirect', 'redirectTo', 'redirect_uri', 'href', 'referer', 'referrer']);

const CENSOR = '[redacted]';
/** The deepest rule reaches level four (`*.*.query.code`, `*.err.cause.detail`); nothing deeper is walked. */
const MAX_DEPTH = 4;

/**
 * Whether the value at `parents` + `key` is a secret. `parents` are the keys from the root, so
 * `parents.length + 1` is the level of `key`.
 */
function isSecret(parents: readonly string[], key: string): boolean {
  const level = parents.length + 1;
  const parent = parents[parents.length - 1];
  if (SECRET_FIELDS.has(key)) return level <= 3;
  if (PARAMETER_SECRETS.has(key)) return parent !== undefined && PARAMETER_HOLDERS.has(parent) && level <= 4;
  // A logged error's detail, or its cause's: at the root (`err`) or one level down.
  if (key === 'detail') return (parent === 'err' && level <= 3) || (parent === 'cause' && parents[parents.length - 2] === 'err' && level <= 4);
  return false;
}

/** `https://rp/cb?code=…&state=…` → `https://rp/cb?[redacted]`; anything without a query is kept. */
function withoutQuery(value: string): string {
  const q = value.indexOf('?');
  return q === -1 ? value : `${value.slice(0, q)}?${CENSOR}`;
}

/** What JSON.stringify walks into: objects and arrays, except those that serialise themselves (Date, Buffer). */
function isWalkable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON !== 'function';
}

/** The object with its secrets censored; the same object when it has none (nothing is copied then). */
function scrub(object: Record<string, unknown>, parents: readonly string[], skip?: string): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  const set = (key: string, value: unknown) => {
    // JSON keeps an object's own enumerable properties, so the copy logs exactly what the original would.
    out ??= Array.isArray(object) ? ([...object] as unknown as Record<string, unknown>) : { ...object };
    out[key] = value;
  };
  for (const key of Object.keys(object)) {
    if (key === skip) continue;
    const value = object[key];
    if (value === undefined) continue;
    if (isSecret(parents, key)) set(key, CENSOR);
    else if (parents.length === 0 && URL_FIELDS.has(key) && typeof value === 'string' && value.includes('?')) set(key, withoutQuery(value));
    else if (parents.length + 1 < MAX_DEPTH && isWalkable(value)) {
      const clean = scrub(value, [...parents, key]);
      if (clean !== value) set(key, clean);
    }
  }
  return out ?? object;
}

/** pino's error serializer (type, message and stack, causes folded in), then the same rules below `err`. */
function serializeError(err: unknown): unknown {
  const serialized = pino.stdSerializers.err(err as Error) as unknown;
  return isWalkable(serialized) ? scrub(serialized, ['err']) : serialized;
}

/** `destination`: where lines go (tests capture them); without it, stdout through an asynchronous writer. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const logger = pino(
    {
      level,
      base: { service: 'nordlys-id' },
      // The root `err` is left to its serializer: it is still an Error here, with its stack to keep.
      formatters: { log: (object) => scrub(object, [], 'err') },
      serializers: { err: serializeError },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? stdoutDestination(),
  );
  // A child's bindings are written as they are (pino's bindings formatter sees the root's base only):
  // they get the same rules when the child is made. Children inherit this method from their parent.
  const pinoChild = (Object.getPrototypeOf(logger) as { child: (this: Logger, bindings: pino.Bindings, options?: pino.ChildLoggerOptions) => Logger }).child;
  function scrubbedChild(this: Logger, bindings: pino.Bindings, options?: pino.ChildLoggerOptions): Logger {
    return pinoChild.call(this, scrub(bindings, []), options);
  }
  Object.defineProperty(logger, 'child', { value: scrubbedChild, configurable: true, writable: true });
  return logger;
}

/**
 * Lines are written once this many bytes wait (about fifteen access lines), just under the 4096 of one
 * write (maxWrite, below)… Each write is a round trip to the threadpool, and on a virtual machine waking
 * another thread is dear: 2 KiB batches still cost about 11 % of a client_credentials request's CPU more
 * than 3.75 KiB batches did, measured side by side (issue 13). The tenth of a second below bounds how late
 * a line is either way.
 */
const LOG_WRITE_MIN_BYTES = 3840;
/** …or at the latest after this long: a quiet service's line still shows within a tenth of a second. */
const LOG_FLUSH_MS = 100;

/**
 * stdout without blocking the event loop. Each write is at most 4096 bytes (PIPE_BUF): the workers of a
 * cluster share one stdout pipe, and writes up to that size are never interleaved with another's, so
 * their lines stay whole. pino flushes it synchronously when the process exits.
 */
function stdoutDestination(): DestinationStream {
  return pino.destination({ dest: 1, sync: false, maxWrite: 4096, minLength: LOG_WRITE_MIN_BYTES, periodicFlush: LOG_FLUSH_MS });
}
