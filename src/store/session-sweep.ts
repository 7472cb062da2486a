/**
 * Ends expired login sessions: claims each expired Session row (see session-expiry.ts) and hands it to
 * `onEnded`, which tells the session's relying parties (back-channel logout). Rules:
 * - each ended session is handed over exactly once, on whichever instance claimed it;
 * - one failed hand-over (an RP that does not answer) neither stops the others nor the next tick;
 * - it runs on the one sweeper framework (sweeper.ts): the timer never keeps the process alive, sweeps
 *   never overlap, and an error only reaches onError; the interval is at most 60 s (config), so an RP
 *   hears of a timeout within a minute.
 */
import type { ClaimedSession, SessionEndings } from './session-expiry.js';
import { repeatRounds, report, startPeriodic, type Sweeper } from './sweeper.js';

/** Sessions claimed per round; a sweep repeats rounds until one comes back short (bounded). */
const BATCH = 100;
const MAX_ROUNDS = 50;

export interface SessionSweepDeps {
  endings: SessionEndings;
  onEnded(session: ClaimedSession): Promise<void>;
  onError(err: unknown): void;
}

/** Claims and ends every session expired by now (bounded rounds); returns how many ended. */
export async function sweepExpiredSessions(deps: SessionSweepDeps): Promise<number> {
  const round = async (): Promise<number> => {
    const claimed = await deps.endings.claimExpired(BATCH);
    const results = await Promise.allSettled(claimed.map((session) => deps.onEnded(session)));
    for (const r of results) if (r.status === 'rejected') report(deps.onError, r.reason);
    return claimed.length;
  };
  return (await repeatRounds(round, BATCH, MAX_ROUNDS)).total;
}

export function startSessionSweeper(deps: SessionSweepDeps, intervalSeconds: number): Sweeper {
  return startPeriodic('session sweep', intervalSeconds, () => sweepExpiredSessions(deps), deps.onError);
}
