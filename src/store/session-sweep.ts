/**
 * Ends expired login sessions: claims each expired Session row (see session-expiry.ts) and hands it to
 * `onEnded`, which tells the session's relying parties (back-channel logout). Rules:
 * - each ended session is handed over exactly once, on whichever instance claimed it;
 * - one failed hand-over (an RP that does not answer) neither stops the others nor the next tick;
 * - the timer never keeps the process alive (unref), sweeps never overlap, and an error only reaches
 *   onError; the interval is at most 60 s (config), so an RP hears of a timeout within a minute.
 */
import type { ClaimedSession, SessionEndings } from './session-expiry.js';

/** Sessions claimed per round; a sweep repeats rounds until one comes back short (bounded). */
const BATCH = 100;
const MAX_ROUNDS = 50;

export interface SessionSweepDeps {
  endings: SessionEndings;
  onEnded(session: ClaimedSession): Promise<void>;
  onError(err: unknown): void;
}

function report(onError: (err: unknown) => void, err: unknown): void {
  try {
    onError(err);
  } catch {
    // A throwing error handler must not turn into an unhandled rejection.
  }
}

/** Claims and ends every session expired by now; returns how many ended. */
export async function sweepExpiredSessions(deps: SessionSweepDeps): Promise<number> {
  let ended = 0;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const claimed = await deps.endings.claimExpired(BATCH);
    const results = await Promise.allSettled(claimed.map((session) => deps.onEnded(session)));
    for (const r of results) if (r.status === 'rejected') report(deps.onError, r.reason);
    ended += claimed.length;
    if (claimed.length < BATCH) break;
  }
  return ended;
}

export function startSessionSweeper(deps: SessionSweepDeps, intervalSeconds: number): { stop(): void } {
  if (!Number.isFinite(intervalSeconds) || intervalSeconds <= 0) {
    throw new RangeError(`session sweep interval must be a positive number of seconds, got ${intervalSeconds}`);
  }
  let running = false;
  const tick = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      await sweepExpiredSessions(deps);
    } catch (err) {
      report(deps.onError, err);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), intervalSeconds * 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
