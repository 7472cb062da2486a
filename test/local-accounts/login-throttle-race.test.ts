/**
 * The login throttle on the real store under concurrency (issue 13: a login's per-IP and per-account
 * counts are one statement), on each dialect. On PostgreSQL each race is 50 attempts split over two
 * connection pools of 20 on one database (two instances); SQLite races over its one connection. The
 * clock does not move, so no block ends during a race and every outcome is exact:
 * - failures on one account from several addresses behind a proxy: exactly freeFailures + 1 are let
 *   through, the block starts at the crossing hit, and the addresses keep only the hits that were let through;
 * - failures on many accounts from one address: exactly the address's free failures + 1 are let through,
 *   and no account counts an attempt the address refused;
 * - successes racing on one account and address: no deadlock, and every hit on the address is taken back.
 */
import { ManualClock } from '../support/manual-clock.js';
import { createLoginThrottle, type LoginThrottle } from '../../src/interactions/login-throttle.js';
import { createRateLimits } from '../../src/store/rate-limits.js';
import type { Database } from '../../src/store/db.js';
import { createTestDatabase, dialects, type TestDatabase } from '../support/databases.js';

const RACERS = 50;
const FREE_FAILURES = 3;
/** An address gets four times the account's free failures (login-throttle.ts). */
const IP_FREE_FAILURES = FREE_FAILURES * 4;
const BASE_DELAY_SECONDS = 30;

describe.each(dialects)('the login throttle under concurrency on %s', (dialect) => {
  let db: TestDatabase;
  let twin: Database;
  let throttles: [LoginThrottle, LoginThrottle];
  const clock = new ManualClock();

  beforeAll(async () => {
    db = await createTestDatabase(dialect, { poolMax: 20 });
    twin = db.openTwin();
    const throttleOn = (pool: Database) =>
      createLoginThrottle({ rateLimits: createRateLimits(pool, clock), keyHash: (v) => v, freeFailures: FREE_FAILURES, baseDelaySeconds: BASE_DELAY_SECONDS, maxDelaySeconds: 900 });
    throttles = [throttleOn(db), throttleOn(dialect === 'postgres' ? twin : db)];
  });
  afterAll(async () => {
    await twin.close();
    await db.close();
  });
  beforeEach(async () => {
    await db.knex('rate_limits').del();
  });

  /** `RACERS` attempts at once, alternating between the instances; each that is let through ends as `success` says. */
  async function race(attempt: (i: number) => { accountId: string; ip: string }, success: boolean) {
    const results = await Promise.allSettled(
      Array.from({ length: RACERS }, async (_, i) => {
        const { accountId, ip } = attempt(i);
        const gate = await throttles[i % 2]!.begin({ accountId, login: `${accountId}@example.no`, ip });
        if (gate.ok) await gate.settle(success);
        return { ip, accountId, gate };
      }),
    );
    const rejected = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    expect(rejected).toEqual([]);
    return results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  const row = async (key: string) => {
    const r = (await db.knex('rate_limits').where({ key }).first()) as { hits: number | string; blocked_until: number | string | null } | undefined;
    return r && { hits: Number(r.hits), blockedUntil: r.blocked_until === null ? null : Number(r.blocked_until) };
  };

  test('failures on one account from several addresses: the account blocks exactly at the crossing hit', async () => {
    const ips = ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4', '203.0.113.5'];
    const attempts = await race((i) => ({ accountId: 'acc-1', ip: ips[i % ips.length]! }), false);
    const through = attempts.filter((a) => a.gate.ok);
    expect(through).toHaveLength(FREE_FAILURES + 1);
    expect(attempts.filter((a) => !a.gate.ok).map((a) => a.gate)).toEqual(Array(RACERS - FREE_FAILURES - 1).fill({ ok: false, retryAfterSeconds: BASE_DELAY_SECONDS }));
    expect(await row('login:account:acc-1')).toEqual({ hits: FREE_FAILURES + 1, blockedUntil: clock.now() + BASE_DELAY_SECONDS * 1000 });
    // Each address holds the attempts it got through, and nothing of those the account refused.
    for (const ip of ips) {
      const mine = through.filter((a) => a.ip === ip).length;
      expect([ip, await row(`login:ip:${ip}`)]).toEqual([ip, { hits: mine, blockedUntil: null }]);
    }
  });

  test('failures on many accounts from one address: the address blocks exactly at the crossing hit, and refused attempts count for no account', async () => {
    const attempts = await race((i) => ({ accountId: `acc-${i % 25}`, ip: '198.51.100.7' }), false);
    expect(attempts.filter((a) => a.gate.ok)).toHaveLength(IP_FREE_FAILURES + 1);
    expect(await row('login:ip:198.51.100.7')).toEqual({ hits: IP_FREE_FAILURES + 1, blockedUntil: clock.now() + BASE_DELAY_SECONDS * 1000 });
    const accounts = (await db.knex('rate_limits').where('key', 'like', 'login:account:%').select('hits')) as Array<{ hits: number | string }>;
    expect(accounts.reduce((sum, r) => sum + Number(r.hits), 0)).toBe(IP_FREE_FAILURES + 1);
  });

  test('successes racing on one account and address: no deadlock, every hit on the address taken back, the account cleared', async () => {
    await race(() => ({ accountId: 'acc-ok', ip: '192.0.2.44' }), true);
    expect(await row('login:ip:192.0.2.44')).toEqual({ hits: 0, blockedUntil: null });
    // Each attempt let through clears the account after its own hit, so the last word on the row is a clear.
    expect(await row('login:account:acc-ok')).toBeUndefined();
  });
});
