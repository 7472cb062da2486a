/** The login throttle's first delay comes from LOGIN_BASE_DELAY_SECONDS, and is never longer than LOGIN_MAX_DELAY_SECONDS. */
import { createLoginThrottle } from '../../src/interactions/login-throttle.js';
import type { Counter, CounterRule, RateLimits } from '../../src/store/rate-limits.js';

function policiesOf(settings: { baseDelaySeconds: number; maxDelaySeconds: number }) {
  const seen: CounterRule[] = [];
  const rateLimits = {
    hitEach: async (counters: Counter[]) => {
      seen.push(...counters.map((c) => c.policy));
      return { allowed: true as const };
    },
    clearAndRefund: async () => undefined,
  } as unknown as RateLimits;
  const throttle = createLoginThrottle({ rateLimits, keyHash: (v) => v, freeFailures: 3, ...settings });
  return { seen, begin: () => throttle.begin({ accountId: 'a1', login: 'kari@example.no', ip: '192.0.2.1' }) };
}

test.each([
  [{ baseDelaySeconds: 10, maxDelaySeconds: 900 }, 10],
  [{ baseDelaySeconds: 30, maxDelaySeconds: 900 }, 30],
  [{ baseDelaySeconds: 60, maxDelaySeconds: 20 }, 20],
])('%o: the first delay is %i s, for the IP address and the account alike', async (settings, expected) => {
  const { seen, begin } = policiesOf(settings);
  await begin();
  expect(seen).toHaveLength(2);
  for (const rule of seen) {
    if (rule.kind !== 'backoff') throw new Error('the login throttle backs off');
    // The first failure over the free ones waits the base delay; far beyond, the wait is the cap.
    expect(rule.delaySeconds(rule.freeFailures + 1)).toBe(expected);
    expect(rule.delaySeconds(rule.freeFailures + 30)).toBe(settings.maxDelaySeconds);
  }
});
