/**
 * JSON logs through pino. Rules: secrets never reach a log — passwords, codes, tokens, cookies and
 * authorization headers are redacted wherever they appear in a logged object; request logs carry the
 * path without its query string (which holds codes and state).
 */
import pino, { type Logger, type DestinationStream } from 'pino';

export type { Logger };

const REDACTED_KEYS = [
  'password',
  'code',
  'code_verifier',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'client_secret',
  'cookie',
  'cookies',
  'authorization',
  'secret',
  '_csrf',
  'csrf',
  'set-cookie',
];

export const redactPaths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `headers["${k}"]`]);

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'nordlys-id' },
    redact: { paths: redactPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
