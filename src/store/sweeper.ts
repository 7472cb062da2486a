/**
 * The one sweeper framework: a periodic task, bounded batched deletes, and the sweep of expired
 * oidc-provider artefacts built from them. Every scheduled upkeep (payloads, local accounts and the audit
 * trail in local-sweep.ts, ended sessions in session-sweep.ts) runs on `startPeriodic`. Rules:
 * - The timer never keeps the process alive (unref) and a failed run never crashes it: the error is
 *   handed to onError (a throwing onError is swallowed) and the next tick tries again.
 * - Runs never overlap: a tick that finds the previous run still going is skipped.
 * - An interval that is not a positive number is refused at start-up (setInterval would spin on it).
 * - Deletes go in batches of at most BATCH_SIZE rows per statement, so no statement holds its locks or
 *   builds its undo for long, and a run does at most `maxBatches` of them; what is left waits for the
 *   next run. Each batch is chosen oldest first through an index (ctid on PostgreSQL, rowid on SQLite).
 * - Only payload rows whose expires_at has passed go; rows without expires_at are kept forever. Sessions
 *   are not this sweep's: session-sweep.ts ends them, after telling their relying parties.
 * At a steady load the table holds what was written in one lifetime plus one sweep interval: as long as
 * rate × interval stays below BATCH_SIZE × maxBatches (10M rows by default), each run empties the backlog.
 */
import type { Knex } from 'knex';
import type { Clock } from '../clock.js';
import type { Database } from './db.js';

/** The most rows one delete statement removes. */
export const BATCH_SIZE = 10_000;
/** The most delete statements one run of a sweep makes. */
export const MAX_BATCHES = 1_000;

export interface Sweeper {
  stop(): void;
}

export interface Rounds {
  /** Rows handled by all rounds. */
  total: number;
  rounds: number;
  /** False when the run stopped at its round limit with work left. */
  complete: boolean;
}

/** Runs `round` (which handles up to `batchSize` rows and returns how many) until one comes back short. */
export async function repeatRounds(round: () => Promise<number>, batchSize: number, maxRounds: number): Promise<Rounds> {
  let total = 0;
  for (let rounds = 1; rounds <= maxRounds; rounds++) {
    const n = await round();
    total += n;
    if (n < batchSize) return { total, rounds, complete: true };
  }
  return { total, rounds: maxRounds, complete: false };
}

export interface BatchOptions {
  batchSize?: number;
  maxBatches?: number;
}

/**
 * Deletes the rows `choose` selects (its where and order by; the framework adds the limit), one batch per
 * statement. `choose` should order by an indexed column so each batch is an index range, not a scan.
 */
export async function deleteInBatches(db: Database, table: string, choose: (q: Knex.QueryBuilder) => Knex.QueryBuilder, options: BatchOptions = {}): Promise<Rounds> {
  const batchSize = options.batchSize ?? BATCH_SIZE;
  const maxBatches = options.maxBatches ?? MAX_BATCHES;
  const { knex } = db;
  const round = async (): Promise<number> => {
    if (db.dialect === 'postgres') {
      // = any(array(subquery)) plans as a TID scan of the chosen rows; `ctid in (subquery)` may not.
      const chosen = choose(knex(table).select('ctid')).limit(batchSize);
      return knex(table).whereRaw('ctid = any(array(?))', [chosen]).del();
    }
    const chosen = choose(knex(table).select('rowid')).limit(batchSize);
    return knex(table).whereIn('rowid', chosen).del();
  };
  return repeatRounds(round, batchSize, maxBatches);
}

/** Deletes the expired payload rows, sessions excepted; returns how many went. */
export async function sweepExpired(db: Database, clock: Clock, options: BatchOptions = {}): Promise<number> {
  return (await sweepExpiredPayloads(db, clock, options)).total;
}

/** As sweepExpired, with the number of statements and whether the backlog was cleared. */
export async function sweepExpiredPayloads(db: Database, clock: Clock, options: BatchOptions = {}): Promise<Rounds> {
  const now = clock.now();
  // Expired sessions are left to session-sweep.ts, which must tell their RPs (back-channel logout) first.
  // Bounded on both sides: without statistics PostgreSQL takes a one-sided range for a third of the table
  // and would scan it whole; a two-sided one it estimates as narrow, so the expires_at index serves it.
  return deleteInBatches(db, 'oidc_payloads', (q) => q.whereBetween('expires_at', [0, now]).whereNot('model', 'Session').orderBy('expires_at'), options);
}

/** Hands an error to onError; a throwing onError must not turn into an unhandled rejection. */
export function report(onError: (err: unknown) => void, err: unknown): void {
  try {
    onError(err);
  } catch {
    // Swallowed on purpose: there is nobody left to tell.
  }
}

/** Runs `task` every `intervalSeconds`, never two at once; its result goes to onDone, a failure to onError. */
export function startPeriodic<T>(
  name: string,
  intervalSeconds: number,
  task: () => Promise<T>,
  onError: (err: unknown) => void,
  onDone: (result: T) => void = () => undefined,
): Sweeper {
  if (!Number.isFinite(intervalSeconds) || intervalSeconds <= 0) {
    throw new RangeError(`${name} interval must be a positive number of seconds, got ${intervalSeconds}`);
  }
  let running = false;
  const tick = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      const result = await task();
      try {
        onDone(result);
      } catch (err) {
        report(onError, err);
      }
    } catch (err) {
      report(onError, err);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), intervalSeconds * 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** The scheduled sweep of expired payload rows. */
export function startSweeper(db: Database, clock: Clock, intervalSeconds: number, onError: (err: unknown) => void): Sweeper {
  return startPeriodic('sweeper', intervalSeconds, () => sweepExpiredPayloads(db, clock), onError);
}
