/**
 * Deletes expired oidc-provider artefacts. The adapter already hides them; this only reclaims space.
 * Rules:
 * - Only rows whose expires_at has passed go; rows without expires_at are kept forever. Sessions are
 *   not this sweeper's: session-sweep.ts ends them.
 * - The timer never keeps the process alive (unref) and a failed sweep never crashes it: the error is
 *   handed to onError and the next tick tries again.
 * - Sweeps never overlap: a tick that finds the previous sweep still running is skipped.
 */
import type { Clock } from '../clock.js';
import type { Database } from './db.js';

/** Deletes the expired rows; returns how many went. */
export async function sweepExpired(db: Database, clock: Clock): Promise<number> {
  // Expired sessions are left to session-sweep.ts, which must tell their RPs (back-channel logout) first.
  return db.knex('oidc_payloads').where('expires_at', '<=', clock.now()).whereNot('model', 'Session').del();
}

export interface Sweeper {
  stop(): void;
}

export function startSweeper(
  db: Database,
  clock: Clock,
  intervalSeconds: number,
  onError: (err: unknown) => void,
): Sweeper {
  // setInterval treats 0 or NaN as 1 ms: a busy loop against the database. Fail at start-up instead.
  if (!Number.isFinite(intervalSeconds) || intervalSeconds <= 0) {
    throw new RangeError(`sweeper interval must be a positive number of seconds, got ${intervalSeconds}`);
  }
  let running = false;

  const tick = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      await sweepExpired(db, clock);
    } catch (err) {
      try {
        onError(err);
      } catch {
        // A throwing error handler must not turn into an unhandled rejection.
      }
    } finally {
      running = false;
    }
  };

  const timer = setInterval(() => void tick(), intervalSeconds * 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
