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
 */
import pino, { type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Field names that hold nothing but secrets, wherever they appear. */
const SECRET_FIELDS = [
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
];

/** Where request parameters live, alone or under a request object (`req.query`, `request.body`, …). */
const PARAMETER_HOLDERS = ['query', 'body', 'params', 'form'];
/** Parameters that are secret only as parameters: `code` is also the name of our error codes. */
const PARAMETER_SECRETS = ['code', 'user_code', 'device_code'];

const quoted = (key: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `["${key}"]`);
const at = (prefix: string, key: string) => (prefix ? `${prefix}${quoted(key)}` : quoted(key).replace(/^\./, ''));

/** Logged errors (pino's `err`, also one level down) and their causes: where a database puts row values. */
const ERROR_DETAILS = ['err.detail', 'err.cause.detail', '*.err.detail', '*.err.cause.detail'];

export const redactPaths = [
  ...SECRET_FIELDS.flatMap((k) => [at('', k), at('*', k), at('*.*', k)]),
  ...ERROR_DETAILS,
  ...PARAMETER_HOLDERS.flatMap((holder) => PARAMETER_SECRETS.flatMap((k) => [at(holder, k), at(`*.${holder}`, k), at(`*.*.${holder}`, k)])),
];

const URL_FIELDS = new Set(['url', 'location', 'redirect', 'redirectTo', 'redirect_uri', 'href', 'referer', 'referrer']);

/** `https://rp/cb?code=…&state=…` → `https://rp/cb?[redacted]`; anything without a query is kept. */
function withoutQuery(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const q = value.indexOf('?');
  return q === -1 ? value : `${value.slice(0, q)}?[redacted]`;
}

function scrubUrls(object: Record<string, unknown>): Record<string, unknown> {
  let out = object;
  for (const [key, value] of Object.entries(object)) {
    if (URL_FIELDS.has(key) && typeof value === 'string' && value.includes('?')) out = { ...out, [key]: withoutQuery(value) };
  }
  return out;
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'nordlys-id' },
    redact: { paths: redactPaths, censor: '[redacted]' },
    formatters: { log: scrubUrls },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
