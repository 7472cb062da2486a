/**
 * The rate-limit store on each dialect: a hit is one statement (two only when it is refused, to say for
 * how long), a refund and a clear one each; and what the single upsert stores is exactly what the pure
 * policy (src/policies/throttle.ts) computes, hit after hit, for backoff and window policies, across
 * blocks, their ends and forgotten counts (injected clock).
 */
import { ManualClock } from '../support/manual-clock.js';
import { afterHit, afterRefund, counterRule, waitMs, type CounterState, type ThrottlePolicy } from '../../src/policies/throttle.js';
import { createRateLimits } from '../../src/store/rate-limits.js';
import { createTestDatabase, dialects, type TestDatabase } from '../support/databases.js';

const POLICIES: Array<[string, ThrottlePolicy]> = [
  ['login backoff', { kind: 'backoff', freeFailures: 3, baseDelaySeconds: 30, maxDelaySeconds: 120, forgetAfterSeconds: 86400 }],
  ['long ladder', { kind: 'backoff', freeFailures: 1, baseDelaySeconds: 1, maxDelaySeconds: 86400, forgetAfterSeconds: 86400 }],
  ['code budget (no free failure left)', { kind: 'backoff', freeFailures: 0, baseDelaySeconds: 86400, maxDelaySeconds: 86400, forgetAfterSeconds: 86400 }],
  ['hourly window', { kind: 'window', limit: 3, windowSeconds: 3600 }],
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
});
