/**
 * Rate-limit counters in the database, so every instance sees the same counts (DESIGN §7). Rules:
 * - a hit is refused while the key is blocked; otherwise it is counted, and the block it starts (if any)
 *   stored with it;
 * - a hit is one statement (issue 13): INSERT … ON CONFLICT DO UPDATE … WHERE <not blocked> RETURNING.
 *   The database applies concurrent hits on one key one after the other, each seeing the last one's
 *   count, so no hit is lost and the block starts exactly at the hit that crosses the threshold; a
 *   blocked key returns no row (nothing is counted), and only then a second statement reads how long;
 * - a hit on several keys (`hitEach`, a login's per-IP and per-account counts) behaves as hits on them one
 *   after the other, in order, stopping at the first refusal: a key is counted only if every key before
 *   it was, so nothing after a blocked key is counted, and the hits counted before it are refunded
 *   (a refund each) before the refusal is returned. On PostgreSQL the counting is one statement, each
 *   key's upsert a data-modifying CTE that inserts only if the one before it returned its row; the rows
 *   are locked in the callers' order, so every caller must list the keys in one order (the login: IP
 *   first). On SQLite (one connection, no data-modifying CTE) the upserts run one after the other;
 * - `clearAndRefund` (a login that succeeded: forget the account's count, take the IP's hit back) is one
 *   statement on PostgreSQL, a CTE that refunds and then deletes, locking the refunded key first as a
 *   hit does, so a hit and a settle racing on the same two keys cannot deadlock; two statements on SQLite;
 * - the arithmetic is the pure policy's (src/policies/throttle.ts `counterRule`, handed in so the store
 *   imports no policy): the first hit's state, and the delays a backoff can reach, which go to the
 *   statement as a ladder of values (the SET expressions see the row as it was, on both dialects, so they agree);
 * - a refund is one UPDATE, a clear one DELETE; rows that are quiet and unblocked for a long time are swept;
 * - the statements of a hit, a refund and a clear are prepared on PostgreSQL (compiled-statements.ts):
 *   their text depends only on the policy's kind and the number of keys, the values are parameters;
 * - `countInWindow` / `countEachInWindow` are the cheap counters for hot paths (new logins at /auth): one
 *   upsert that starts or continues a fixed window and returns the counts, with no block stored; inside a
 *   request on PostgreSQL it carries the request's kept writes (deferred-writes.ts `sendWith`: the
 *   Interaction the provider saved just before), so a new login costs one round trip there, not two;
 * - a clear and a clearAndRefund inside a request on PostgreSQL are kept writes (deferred-writes.ts): they
 *   go with the request's other writes (a successful login's audit row and Interaction) in one statement
 *   before the answer leaves; nothing else reads the row in between but this store, which sends what it
 *   kept before any statement of its own. The refund stays the delete's `after` step, so the lock order holds.
 */
import type { Knex } from 'knex';
import type { Clock } from '../clock.js';
import type { Database } from './db.js';
import { sentPrepared } from './compiled-statements.js';
import { createDeferredWrites } from './deferred-writes.js';

const TABLE = 'rate_limits';
/** A block that ends between the refused upsert and the read of its end: try again, a few times at most. */
const MAX_ROUNDS = 5;
/** Past this many failures over the free ones every backoff delay is the same (its cap, or 2 ** 30 × its base). */
const MAX_LADDER = 31;

interface Row {
  key: string;
  hits: number | string;
  window_started_at: number | string;
  blocked_until: number | string | null;
}

interface CounterState {
  hits: number;
  windowStartedAt: number;
  blockedUntil: number | null;
}

/** How a counter moves, as the pure policy computes it (src/policies/throttle.ts `counterRule`). */
export type CounterRule =
  | {
      kind: 'backoff';
      freeFailures: number;
      forgetAfterSeconds: number;
      /** The counter after the first hit on a fresh key. */
      firstHit(now: number): CounterState;
      /** The delay once the count reaches `hits`. */
      delaySeconds(hits: number): number;
    }
  | { kind: 'window'; limit: number; windowSeconds: number; firstHit(now: number): CounterState };

/** A key and the rule it counts by. */
export interface Counter {
  key: string;
  policy: CounterRule;
}

export type HitResult = { allowed: true } | { allowed: false; retryAfterSeconds: number };

const toState = (r: Row): CounterState => ({
  hits: Number(r.hits),
  windowStartedAt: Number(r.window_started_at),
  blockedUntil: r.blocked_until === null ? null : Number(r.blocked_until),
});

/** The rows a raw INSERT … RETURNING gave, on either dialect. */
const rowsOf = <T = Row>(result: unknown): T[] => (Array.isArray(result) ? (result as T[]) : ((result as { rows?: T[] }).rows ?? []));

/** SQL with its bindings, built in order. */
interface Fragment {
  sql: string;
  bindings: unknown[];
}
const frag = (sql: string, ...bindings: unknown[]): Fragment => ({ sql, bindings });
const join = (parts: Fragment[], separator = ' '): Fragment => ({ sql: parts.map((p) => p.sql).join(separator), bindings: parts.flatMap((p) => p.bindings) });
const bigint = (value: number) => frag('cast(? as bigint)', value);

/** The count after this hit, from the row as it was: a new count once the old one is forgotten or its window over. */
function nextHits(policy: CounterRule, now: number): Fragment {
  const staleBefore = now - (policy.kind === 'backoff' ? policy.forgetAfterSeconds : policy.windowSeconds) * 1000;
  return frag(`(case when ${TABLE}.window_started_at <= ? then 1 else ${TABLE}.hits + 1 end)`, staleBefore);
}

/** blocked_until after a backoff hit whose new count is `hits`: each reachable delay as a CASE of the policy's values. */
function backoffBlock(policy: Extract<CounterRule, { kind: 'backoff' }>, now: number, hits: () => Fragment): Fragment {
  const longest = policy.delaySeconds(policy.freeFailures + MAX_LADDER);
  const cap = bigint(now + longest * 1000);
  const steps: Fragment[] = [];
  for (let over = 1; over < MAX_LADDER; over += 1) {
    const delay = policy.delaySeconds(policy.freeFailures + over);
    if (delay >= longest) break;
    steps.push(join([frag(`when ${over} then`), bigint(now + delay * 1000)]));
  }
  const delay = steps.length ? join([frag('case'), hits(), frag('- ?', policy.freeFailures), ...steps, frag('else'), cap, frag('end')]) : cap;
  return join([frag('case when'), hits(), frag('> ? then', policy.freeFailures), delay, frag('else null end')]);
}

export function createRateLimits(db: Database, clock: Clock) {
  const { knex } = db;
  const deferred = createDeferredWrites(db);
  /** Sends this request's kept clears first, so every statement here sees them (no tick when none is kept). */
  const keptClears = () => deferred.flushIf((w) => w.model === TABLE);

  async function read(key: string): Promise<CounterState | undefined> {
    await keptClears();
    const row = (await knex(TABLE).where({ key }).first()) as Row | undefined;
    return row ? toState(row) : undefined;
  }

  /** The upsert of one hit from `source` (its VALUES or SELECT): counts it unless the key is blocked, and returns a row only then. */
  function hitUpsert(policy: CounterRule, now: number, source: Fragment): Fragment {
    const hits = () => nextHits(policy, now);
    const stale = now - (policy.kind === 'backoff' ? policy.forgetAfterSeconds : policy.windowSeconds) * 1000;
    const windowStart =
      policy.kind === 'backoff' ? bigint(now) : frag(`case when ${TABLE}.window_started_at <= ? then cast(? as bigint) else ${TABLE}.window_started_at end`, stale, now);
    const block =
      policy.kind === 'backoff'
        ? backoffBlock(policy, now, hits)
        : join([
            frag('case when'),
            hits(),
            frag(`>= ? then (case when ${TABLE}.window_started_at <= ? then cast(? as bigint) else ${TABLE}.window_started_at + ? end) else null end`, policy.limit, stale, now + policy.windowSeconds * 1000, policy.windowSeconds * 1000),
          ]);
    return join([
      frag(`insert into ${TABLE} (key, hits, window_started_at, blocked_until, updated_at)`),
      source,
      frag('on conflict (key) do update set hits ='),
      hits(),
      frag(', window_started_at ='),
      windowStart,
      frag(', blocked_until ='),
      block,
      frag(`, updated_at = excluded.updated_at where ${TABLE}.blocked_until is null or ${TABLE}.blocked_until <= ? returning key`, now),
    ]);
  }

  /** The one statement of a hit: counts it unless the key is blocked; no row back means blocked. */
  async function countHit({ key, policy }: Counter, now: number): Promise<boolean> {
    const first = policy.firstHit(now);
    const statement = hitUpsert(policy, now, frag('values (?, ?, ?, ?, ?)', key, first.hits, first.windowStartedAt, first.blockedUntil, now));
    await keptClears();
    return rowsOf(await sentPrepared(knex, statement.sql, statement.bindings as Knex.RawBinding[])).length === 1;
  }

  /**
   * Counts hits on `counters` in order, each only if the one before it was counted; returns how many were.
   * PostgreSQL: one statement, `with c0 as (upsert … returning key), c1 as (upsert … select … where exists
   * (select 1 from c0) …) …`; c1 reads c0, so c0's row is locked (and counted) before c1's is touched.
   */
  async function countEach(counters: Counter[], now: number): Promise<number> {
    if (counters.length === 1 || db.dialect !== 'postgres') {
      let counted = 0;
      while (counted < counters.length && (await countHit(counters[counted]!, now))) counted += 1;
      return counted;
    }
    const ctes = counters.map(({ key, policy }, i) => {
      const first = policy.firstHit(now);
      const row = [frag('cast(? as varchar)', key), frag('cast(? as integer)', first.hits), bigint(first.windowStartedAt), frag('cast(? as bigint)', first.blockedUntil), bigint(now)];
      const source = join([frag('select'), join(row, ', '), frag(i === 0 ? '' : `where exists (select 1 from c${i - 1})`)]);
      return join([frag(`c${i} as (`), hitUpsert(policy, now, source), frag(')')]);
    });
    const statement = join([frag('with'), join(ctes, ', '), frag(`select ${counters.map((_, i) => `(select count(*) from c${i})`).join(' + ')} as counted`)]);
    await keptClears();
    return Number(rowsOf<{ counted: number | string }>(await sentPrepared(knex, statement.sql, statement.bindings as Knex.RawBinding[]))[0]!.counted);
  }

  /** Counts one hit on `key` unless it is blocked. */
  async function hit(key: string, policy: CounterRule): Promise<HitResult> {
    return hitEach([{ key, policy }]);
  }

  /**
   * Counts one hit on each of `counters`, in order, as `hit` on each one after the other would: the first
   * blocked key stops the count (nothing after it is counted) and the hits counted before it are refunded.
   */
  async function hitEach(counters: Counter[]): Promise<HitResult> {
    if (new Set(counters.map((c) => c.key)).size !== counters.length) throw new Error('hitEach: every key once');
    let counted = 0;
    // Rounds on the key the count stopped at: a block that ends between the refused upsert and the read of its end.
    let rounds = 0;
    // Out of rounds, a block that keeps ending and starting again under our feet is an attack: refuse rather than count loosely.
    let refusal: HitResult = { allowed: false, retryAfterSeconds: 1 };
    while (rounds < MAX_ROUNDS) {
      const now = clock.now();
      const more = await countEach(counters.slice(counted), now);
      counted += more;
      if (counted === counters.length) return { allowed: true };
      rounds = more > 0 ? 1 : rounds + 1;
      const blockedUntil = (await read(counters[counted]!.key))?.blockedUntil ?? null;
      if (blockedUntil !== null && blockedUntil > now) {
        refusal = { allowed: false, retryAfterSeconds: Math.ceil((blockedUntil - now) / 1000) };
        break;
      }
    }
    // As hits one after the other would: what was counted before the refusal is taken back (the refusal path only).
    for (const earlier of counters.slice(0, counted)) await refund(earlier.key, earlier.policy);
    return refusal;
  }

  /** The UPDATE of a refund: one hit back, and the block the lower count no longer earns. */
  function refundUpdate(key: string, policy: CounterRule): Fragment {
    // afterRefund's rule: a backoff keeps its block while the lower count still earns a delay, a window while it is at its limit.
    const keepsBlock = policy.kind === 'backoff' ? frag('hits - 1 > ?', policy.freeFailures) : frag('hits - 1 >= ?', policy.limit);
    return join([frag(`update ${TABLE} set hits = hits - 1, blocked_until = case when`), keepsBlock, frag('then blocked_until else null end where key = ? and hits > 0', key)]);
  }

  /** Takes one hit back (a login that succeeded after its hit was counted), and the block it no longer earns. */
  async function refund(key: string, policy: CounterRule): Promise<void> {
    const statement = refundUpdate(key, policy);
    await keptClears();
    await sentPrepared(knex, statement.sql, statement.bindings as Knex.RawBinding[]);
  }

  /**
   * Forgets `clearKey` and takes one hit back from `refunded` (a login that succeeded: the account's failures
   * and the IP's hit). PostgreSQL: one statement; the delete waits on the refund's result (a one-time filter),
   * so the refunded row is locked first, in the order hitEach locks them.
   */
  async function clearAndRefund(clearKey: string, refunded?: Counter): Promise<void> {
    if (!refunded) return clear(clearKey);
    if (refunded.key === clearKey) throw new Error('clearAndRefund: two different keys');
    if (db.dialect !== 'postgres') {
      await refund(refunded.key, refunded.policy);
      return clear(clearKey);
    }
    const refundStep = () => {
      const update = join([refundUpdate(refunded.key, refunded.policy), frag('returning key')]);
      return sentPrepared(knex, update.sql, update.bindings as Knex.RawBinding[]);
    };
    const deleteAfter = (refundedName = 'refunded') => sentPrepared(knex, `delete from ${TABLE} where key = ? and (select count(*) from ${refundedName}) >= 0`, [clearKey]);
    if (await deferred.defer({ kind: 'delete', model: TABLE, id: clearKey, after: refundStep, statement: deleteAfter })) return;
    const refundSql = refundStep().toSQL();
    const deleteSql = deleteAfter().toSQL();
    await keptClears();
    await sentPrepared(knex, `with refunded as (${refundSql.sql}) ${deleteSql.sql}`, [...refundSql.bindings, ...deleteSql.bindings] as Knex.RawBinding[]);
  }

  /** Forgets a key (a successful login or a password reset clears the account's failures). */
  async function clear(key: string): Promise<void> {
    const statement = () => sentPrepared(knex, `delete from ${TABLE} where key = ?`, [key]);
    if (await deferred.defer({ kind: 'delete', model: TABLE, id: key, statement })) return;
    await keptClears();
    await statement();
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
   * Counts one event on each of `keys` in a fixed window of `windowSeconds` (a new window when the old one
   * has ended) with a single INSERT … ON CONFLICT DO UPDATE … RETURNING; the caller compares each count
   * with its limit. The SET expressions see the row as it was, on both dialects, so the two CASEs agree.
   */
  async function countEachInWindow(keys: string[], windowSeconds: number): Promise<WindowCount[]> {
    const distinct = [...new Set(keys)];
    const now = clock.now();
    const windowEndedBefore = now - windowSeconds * 1000;
    const upsert = {
      sql: `insert into ${TABLE} (key, hits, window_started_at, blocked_until, updated_at) values ${distinct.map(() => '(?, 1, ?, null, ?)').join(', ')}
       on conflict (key) do update set
         hits = case when ${TABLE}.window_started_at <= ? then 1 else ${TABLE}.hits + 1 end,
         window_started_at = case when ${TABLE}.window_started_at <= ? then excluded.window_started_at else ${TABLE}.window_started_at end,
         updated_at = excluded.updated_at
       returning key, hits, window_started_at`,
      bindings: [...distinct.flatMap((key) => [key, now, now]), windowEndedBefore, windowEndedBefore],
    };
    // On PostgreSQL it carries the request's kept writes; SQLite's RETURNING stays a statement of its own.
    const result =
      db.dialect === 'postgres'
        ? await deferred.sendWith({ ctes: [{ name: 'counted', ...upsert }], main: { sql: 'select * from counted', bindings: [] }, table: TABLE })
        : await sentPrepared(knex, upsert.sql, upsert.bindings);
    const byKey = new Map(rowsOf(result).map((row) => [row.key, row]));
    return keys.map((key) => {
      const row = byKey.get(key)!;
      const windowEndsAt = Number(row.window_started_at) + windowSeconds * 1000;
      return { hits: Number(row.hits), retryAfterSeconds: Math.max(1, Math.ceil((windowEndsAt - now) / 1000)) };
    });
  }

  async function countInWindow(key: string, windowSeconds: number): Promise<WindowCount> {
    return (await countEachInWindow([key], windowSeconds))[0]!;
  }

  /** Takes one event back from a window count (it was counted with others, but does not count here). */
  async function uncountInWindow(key: string): Promise<void> {
    await keptClears();
    await knex(TABLE).where({ key }).andWhere('hits', '>', 0).decrement('hits', 1);
  }

  return { read, hit, hitEach, refund, clear, clearAndRefund, sweep, countInWindow, countEachInWindow, uncountInWindow };
}

export interface WindowCount {
  /** Events in the current window, this one included. */
  hits: number;
  /** Seconds until the current window ends. */
  retryAfterSeconds: number;
}

export type RateLimits = ReturnType<typeof createRateLimits>;
