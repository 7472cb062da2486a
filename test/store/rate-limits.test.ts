/**
 * The rate-limit store on each dialect: a hit is one statement (two only when it is refused, to say for
 * how long), a refund and a clear one each; and what the single upsert stores is exactly what the pure
 * policy (src/policies/throttle.ts) computes, hit after hit, for backoff and window policies, across
 * blocks, their ends and forgotten counts (injected clock). A hit on two keys (`hitEach`) stores what
 * hits on them one after the other would, a refusal by the second refunding the first, in one statement
 * on PostgreSQL; `clearAndRefund` is one statement there; and on PostgreSQL both lock the first key's
 * row before they touch the second's (the order that keeps a hit and a settle from deadlocking). Inside
 * a request on PostgreSQL a clear is kept and sent with the request's other writes, the refund still first.
 */
import { ManualClock } from '../support/manual-clock.js';
import { afterHit, afterRefund, counterRule, waitMs, type CounterState, type ThrottlePolicy } from '../../src/policies/throttle.js';
import { createRateLimits, type HitResult } from '../../src/store/rate-limits.js';
import { adapterRequestScope } from '../../src/store/adapter-scope.js';
import { createTestDatabase, dialects, type TestDatabase } from '../support/databases.js';

const POLICIES: Array<[string, ThrottlePolicy]> = [
  ['login backoff', { kind: 'backoff', freeFailures: 3, baseDelaySeconds: 30, maxDelaySeconds: 120, forgetAfterSeconds: 86400 }],
  ['long ladder', { kind: 'backoff', freeFailures: 1, baseDelaySeconds: 1, maxDelaySeconds: 86400, forgetAfterSeconds: 86400 }],
  ['code budget (no free failure left)', { kind: 'backoff', freeFailures: 0, baseDelaySeconds: 86400, maxDelaySeconds: 86400, forgetAfterSeconds: 86400 }],
  ['hourly window', { kind: 'window', limit: 3, windowSeconds: 3600 }],
];

/** Pairs of policies for hitEach, first key first: each pair blocks on either key in the steps below. */
const PAIRS: Array<[string, ThrottlePolicy, ThrottlePolicy]> = [
  ['IP then account', { kind: 'backoff', freeFailures: 2, baseDelaySeconds: 20, maxDelaySeconds: 60, forgetAfterSeconds: 86400 }, { kind: 'backoff', freeFailures: 1, baseDelaySeconds: 20, maxDelaySeconds: 120, forgetAfterSeconds: 86400 }],
  ['window then backoff', { kind: 'window', limit: 3, windowSeconds: 60 }, { kind: 'backoff', freeFailures: 1, baseDelaySeconds: 10, maxDelaySeconds: 40, forgetAfterSeconds: 86400 }],
  ['backoff then window', { kind: 'backoff', freeFailures: 1, baseDelaySeconds: 10, maxDelaySeconds: 40, forgetAfterSeconds: 86400 }, { kind: 'window', limit: 2, windowSeconds: 30 }],
];

describe.each(dialects)('rate limits on %s', (dialect) => {
  let db: TestDatabase;
  let statements: number;
  const clock = new ManualClock();

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    db.knex.on('query', () => (statements += 1));
  });
  afterAll(async () => {
    await db.close();
  });
  beforeEach(async () => {
    await db.knex('rate_limits').del();
    statements = 0;
  });

  test.each(POLICIES)('%s: every hit stores what the policy computes', async (_name, policy) => {
    const limits = createRateLimits(db, clock);
    let expected: CounterState | undefined;
    // Hits a second apart, with a jump of a day in the middle (a forgotten count, an ended window).
    const steps = [...Array(12).fill(1_000), 86_400_000, ...Array(6).fill(1_000), 40_000, 130_000];
    for (const [i, step] of steps.entries()) {
      clock.advance(step);
      const now = clock.now();
      statements = 0;
      const result = await limits.hit('k', counterRule(policy));
      const blocked = waitMs(expected, now) > 0;
      expect([i, result.allowed]).toEqual([i, !blocked]);
      expect([i, statements]).toEqual([i, blocked ? 2 : 1]);
      if (blocked) expect(result).toEqual({ allowed: false, retryAfterSeconds: Math.ceil(waitMs(expected, now) / 1000) });
      else expected = afterHit(expected, now, policy);
      expect([i, await limits.read('k')]).toEqual([i, expected]);
    }
  });

  test.each(POLICIES)('%s: a refund is one statement and keeps only the block the lower count earns', async (_name, policy) => {
    const limits = createRateLimits(db, clock);
    let expected: CounterState | undefined;
    for (let i = 0; i < 6; i += 1) {
      clock.advance(1_000);
      if ((await limits.hit('k', counterRule(policy))).allowed) expected = afterHit(expected, clock.now(), policy);
    }
    for (let i = 0; i < 7; i += 1) {
      statements = 0;
      await limits.refund('k', counterRule(policy));
      expect(statements).toBe(1);
      if (expected && expected.hits > 0) expected = afterRefund(expected, policy);
      expect([i, await limits.read('k')]).toEqual([i, expected]);
    }
    statements = 0;
    await limits.clear('k');
    expect(statements).toBe(1);
    expect(await limits.read('k')).toBeUndefined();
  });

  test('window counts: several keys in one statement, each its own window', async () => {
    const limits = createRateLimits(db, clock);
    await limits.countInWindow('a', 60);
    clock.advance(30_000);
    statements = 0;
    const [a, b] = await limits.countEachInWindow(['a', 'b'], 60);
    expect(statements).toBe(1);
    expect([a, b]).toEqual([{ hits: 2, retryAfterSeconds: 30 }, { hits: 1, retryAfterSeconds: 60 }]);
    await limits.uncountInWindow('b');
    await limits.uncountInWindow('b');
    expect((await limits.read('b'))!.hits).toBe(0);
    clock.advance(30_000);
    expect(await limits.countInWindow('a', 60)).toEqual({ hits: 1, retryAfterSeconds: 60 });
  });

  test.each(PAIRS)('hitEach, %s: stores what hits one after the other would, a refusal by the second refunding the first', async (_name, first, second) => {
    const limits = createRateLimits(db, clock);
    const counters = [
      { key: 'a', policy: counterRule(first) },
      { key: 'b', policy: counterRule(second) },
    ];
    const pg = dialect === 'postgres';
    let a: CounterState | undefined;
    let b: CounterState | undefined;
    const outcomes: Record<string, number> = {};
    const steps = [...Array(20).fill(10_000), 86_400_000, ...Array(10).fill(10_000), 130_000, 130_000, 130_000];
    for (const [i, step] of steps.entries()) {
      clock.advance(step);
      const now = clock.now();
      statements = 0;
      const result = await limits.hitEach(counters);
      let expected: HitResult = { allowed: true };
      let outcome: string;
      if (waitMs(a, now) > 0) {
        // The first key is blocked: nothing is counted on either (the count, then the read of how long).
        outcome = 'refused by the first';
        expected = { allowed: false, retryAfterSeconds: Math.ceil(waitMs(a, now) / 1000) };
        expect([i, statements]).toEqual([i, 2]);
      } else if (waitMs(b, now) > 0) {
        // The second is blocked: the first's hit is taken back (PostgreSQL: the count, the read, the refund).
        outcome = 'refused by the second';
        expected = { allowed: false, retryAfterSeconds: Math.ceil(waitMs(b, now) / 1000) };
        a = afterRefund(afterHit(a, now, first), first);
        expect([i, statements]).toEqual([i, pg ? 3 : 4]);
      } else {
        outcome = 'counted';
        a = afterHit(a, now, first);
        b = afterHit(b, now, second);
        expect([i, statements]).toEqual([i, pg ? 1 : 2]);
      }
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      expect([i, result]).toEqual([i, expected]);
      expect([i, await limits.read('a'), await limits.read('b')]).toEqual([i, a, b]);
    }
    // The steps reach every outcome, so each was checked.
    expect(Object.keys(outcomes).sort()).toEqual(['counted', 'refused by the first', 'refused by the second']);
  });

  test('clearAndRefund: one statement on PostgreSQL, the same as a refund and a clear', async () => {
    const limits = createRateLimits(db, clock);
    const policy: ThrottlePolicy = { kind: 'backoff', freeFailures: 1, baseDelaySeconds: 30, maxDelaySeconds: 120, forgetAfterSeconds: 86400 };
    let ip: CounterState | undefined;
    for (let i = 0; i < 3; i += 1) {
      clock.advance(60_000);
      await limits.hitEach([
        { key: 'ip', policy: counterRule(policy) },
        { key: 'own', policy: counterRule(policy) },
      ]);
      ip = afterHit(ip, clock.now(), policy);
    }
    statements = 0;
    await limits.clearAndRefund('own', { key: 'ip', policy: counterRule(policy) });
    expect(statements).toBe(dialect === 'postgres' ? 1 : 2);
    expect(await limits.read('own')).toBeUndefined();
    expect(await limits.read('ip')).toEqual(afterRefund(ip!, policy));
    // No row to refund: the clear still happens; nothing to refund at all: a plain clear.
    await limits.hit('own', counterRule(policy));
    await limits.clearAndRefund('own', { key: 'absent', policy: counterRule(policy) });
    expect(await limits.read('own')).toBeUndefined();
    expect(await limits.read('absent')).toBeUndefined();
    await limits.hit('own', counterRule(policy));
    statements = 0;
    await limits.clearAndRefund('own');
    expect(statements).toBe(1);
    expect(await limits.read('own')).toBeUndefined();
  });

  test('a key given twice is a mistake, not a double count', async () => {
    const limits = createRateLimits(db, clock);
    const rule = counterRule(POLICIES[0]![1]);
    await expect(limits.hitEach([{ key: 'k', policy: rule }, { key: 'k', policy: rule }])).rejects.toThrow(/every key once/);
    await expect(limits.clearAndRefund('k', { key: 'k', policy: rule })).rejects.toThrow(/two different keys/);
    expect(await limits.read('k')).toBeUndefined();
  });

  (dialect === 'postgres' ? test : test.skip)('PostgreSQL: hitEach and clearAndRefund wait on the first key before they touch the second', async () => {
    const limits = createRateLimits(db, clock);
    const rule = counterRule(POLICIES[0]![1]);
    const ip = { key: 'ip', policy: rule };
    await limits.hitEach([ip, { key: 'own', policy: rule }]);
    /** Holds the lock of ip's row while `work` runs, until `work` waits on it; then own's row must be free. */
    const withIpLocked = async (work: () => Promise<unknown>) => {
      const trx = await db.knex.transaction();
      let pending: Promise<unknown> | undefined;
      try {
        await trx.raw('select key from rate_limits where key = ? for update', ['ip']);
        const holder = Number((await trx.raw('select pg_backend_pid() as pid')).rows[0].pid);
        pending = work();
        let waiting = 0;
        for (let polls = 0; waiting === 0 && polls < 10_000; polls += 1) {
          waiting = Number((await trx.raw('select count(*) as n from pg_stat_activity where ? = any(pg_blocking_pids(pid))', [holder])).rows[0].n);
        }
        expect(waiting).toBe(1);
        // NOWAIT fails at once if the waiting statement already holds own's row.
        await trx.raw('select key from rate_limits where key = ? for update nowait', ['own']);
      } finally {
        await trx.rollback();
        await pending;
      }
    };
    await withIpLocked(() => limits.hitEach([ip, { key: 'own', policy: rule }]));
    expect((await limits.read('own'))!.hits).toBe(2);
    await withIpLocked(() => limits.clearAndRefund('own', ip));
    expect(await limits.read('own')).toBeUndefined();
    expect((await limits.read('ip'))!.hits).toBe(1);
    // Kept inside a request and sent when it ends: the refund is still the step the delete waits for.
    await limits.hitEach([ip, { key: 'own', policy: rule }]);
    await withIpLocked(() => adapterRequestScope({}, () => limits.clearAndRefund('own', ip)));
    expect(await limits.read('own')).toBeUndefined();
    expect((await limits.read('ip'))!.hits).toBe(1);
  });

  (dialect === 'postgres' ? test : test.skip)("PostgreSQL, inside a request: a clear and a clearAndRefund go with the request's writes when it ends; this store's own statements send them first", async () => {
    const limits = createRateLimits(db, clock);
    const rule = counterRule(POLICIES[0]![1]);
    const ip = { key: 'ip', policy: rule };
    await limits.hitEach([ip, { key: 'own', policy: rule }]);
    await limits.hit('device', rule);
    statements = 0;
    await adapterRequestScope({}, async () => {
      await limits.clearAndRefund('own', ip);
      await limits.clear('device');
      expect(statements).toBe(0);
    });
    expect(statements).toBe(1);
    expect(await limits.read('own')).toBeUndefined();
    expect(await limits.read('device')).toBeUndefined();
    expect((await limits.read('ip'))!.hits).toBe(0);

    await limits.hit('own', rule);
    statements = 0;
    const seen = await adapterRequestScope({}, async () => {
      await limits.clear('own');
      return limits.read('own');
    });
    expect(seen).toBeUndefined();
    expect(statements).toBe(2);
  });
});
