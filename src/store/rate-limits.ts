/**
 * Rate-limit counters in the database, so every instance sees the same counts (DESIGN §7). Rules:
 * - a hit is refused while the key is blocked; otherwise it is counted and the new block (if any) stored;
 * - counting is compare-and-set on (hits, window_started_at): two instances hitting one key at once
 *   cannot both read the same count and lose a hit; a lost race re-reads and tries again;
 * - the arithmetic is the caller's: it passes the rule a counter moves by (src/policies/throttle.ts's
 *   `counterRule`), so the store only keeps counters; rows that are quiet and unblocked for a long
 *   time are swept;
 * - `countInWindow` is the cheap counter for hot paths (new logins at /auth): one upsert that starts or
 *   continues a fixed window and returns the count, so a check costs one statement and cannot race.
 */
import type { Clock } from '../clock.js';
import type { Database } from './db.js';
import { isUniqueViolation } from './db-errors.js';

const TABLE = 'rate_limits';
const MAX_ROUNDS = 200;

interface Row {
  key: string;
  hits: number | string;
  window_started_at: number | string;
  blocked_until: number | string | null;
}

/** A counter as stored: hits, when its window (or last hit) began, until when it refuses (epoch ms). */
export interface Counter {
  hits: number;
  windowStartedAt: number;
  blockedUntil: number | null;
}

/** How a counter moves on a hit and on a refund; the caller's throttling policy decides. */
export interface CounterRule {
  afterHit(counter: Counter | undefined, now: number): Counter;
  afterRefund(counter: Counter): Counter;
}

export type HitResult = { allowed: true } | { allowed: false; retryAfterSeconds: number };

const toCounter = (r: Row): Counter => ({
  hits: Number(r.hits),
  windowStartedAt: Number(r.window_started_at),
  blockedUntil: r.blocked_until === null ? null : Number(r.blocked_until),
});

export function createRateLimits(db: Database, clock: Clock) {
  const { knex } = db;

  async function read(key: string): Promise<Counter | undefined> {
    const row = (await knex(TABLE).where({ key }).first()) as Row | undefined;
    return row ? toCounter(row) : undefined;
  }

  /** Swaps `from` for `to` if nobody changed the row meanwhile; inserts when `from` is undefined. */
  async function swap(key: string, from: Counter | undefined, to: Counter): Promise<boolean> {
    const values = { hits: to.hits, window_started_at: to.windowStartedAt, blocked_until: to.blockedUntil, updated_at: clock.now() };
    if (!from) {
      try {
        await knex(TABLE).insert({ key, ...values });
        return true;
      } catch (err) {
        if (isUniqueViolation(err)) return false;
        throw err;
      }
    }
    const changed = await knex(TABLE).where({ key, hits: from.hits, window_started_at: from.windowStartedAt }).update(values);
    return changed === 1;
  }

  /** Counts one hit on `key` unless it is blocked. */
  async function hit(key: string, rule: CounterRule): Promise<HitResult> {
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const now = clock.now();
      const state = await read(key);
      if (state?.blockedUntil && state.blockedUntil > now) return { allowed: false, retryAfterSeconds: Math.ceil((state.blockedUntil - now) / 1000) };
      if (await swap(key, state, rule.afterHit(state, now))) return { allowed: true };
    }
    // Contention this heavy on one key is an attack: refuse rather than count loosely.
    return { allowed: false, retryAfterSeconds: 1 };
  }

  /** Takes one hit back (a login that succeeded after its hit was counted). */
  async function refund(key: string, rule: CounterRule): Promise<void> {
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const state = await read(key);
      if (!state || state.hits === 0) return;
      if (await swap(key, state, rule.afterRefund(state))) return;
    }
  }

  /** Forgets a key (a successful login or a password reset clears the account's failures). */
  async function clear(key: string): Promise<void> {
    await knex(TABLE).where({ key }).del();
  }

  /** Deletes counters that have been quiet for `quietSeconds` and block nothing. */
  async function sweep(quietSeconds: number): Promise<number> {
    const now = clock.now();
    return knex(TABLE)
      .where('updated_at', '<', now - quietSeconds * 1000)
      .andWhere((q) => q.whereNull('blocked_until').orWhere('blocked_until', '<', now))
      .del();
  }

  /**
   * Counts one event on `key` in a fixed window of `windowSeconds` (a new window when the old one has
   * ended) with a single INSERT … ON CONFLICT DO UPDATE … RETURNING; the caller compares the count with
   * its limit. The SET expressions see the row as it was, on both dialects, so the two CASEs agree.
   */
  async function countInWindow(key: string, windowSeconds: number): Promise<WindowCount> {
    const now = clock.now();
    const windowEndedBefore = now - windowSeconds * 1000;
    const result = (await knex.raw(
      `insert into ${TABLE} (key, hits, window_started_at, blocked_until, updated_at) values (?, 1, ?, null, ?)
       on conflict (key) do update set
         hits = case when ${TABLE}.window_started_at <= ? then 1 else ${TABLE}.hits + 1 end,
         window_started_at = case when ${TABLE}.window_started_at <= ? then excluded.window_started_at else ${TABLE}.window_started_at end,
         updated_at = excluded.updated_at
       returning hits, window_started_at`,
      [key, now, now, windowEndedBefore, windowEndedBefore],
    )) as { rows?: Row[] } | Row[];
    const row = (Array.isArray(result) ? result[0] : result.rows?.[0])!;
    const windowEndsAt = Number(row.window_started_at) + windowSeconds * 1000;
    return { hits: Number(row.hits), retryAfterSeconds: Math.max(1, Math.ceil((windowEndsAt - now) / 1000)) };
  }

  return { read, hit, refund, clear, sweep, countInWindow };
}

export interface WindowCount {
  /** Events in the current window, this one included. */
  hits: number;
  /** Seconds until the current window ends. */
  retryAfterSeconds: number;
}

export type RateLimits = ReturnType<typeof createRateLimits>;
