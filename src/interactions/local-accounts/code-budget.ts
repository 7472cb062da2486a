/**
 * The code-guessing budget of an e-mail address (DESIGN §5). Rules:
 * - the budget belongs to the address, not to a code: at most `maxFailures` wrong codes per address in
 *   24 hours, counted over registration and reset and over every resend (each of which otherwise brings
 *   a fresh set of tries for its own code);
 * - a guess is counted before the code is compared, so parallel guesses cannot all slip in; a guess
 *   that was not a wrong code (right, expired, already used …) is taken back;
 * - the count is forgotten after 24 quiet hours; the guess that uses up the budget blocks the address
 *   until 24 hours after it, so no 24-hour span ever holds more than `maxFailures` wrong codes;
 * - the counter is keyed by a keyed hash of the normalised address, never the address itself.
 */
import type { BackoffPolicy } from '../../policies/throttle.js';
import { counterRule, waitMs } from '../../policies/throttle.js';
import type { Clock } from '../../clock.js';
import type { RateLimits } from '../../store/rate-limits.js';
import { normaliseEmail } from '../../store/accounts.js';

const DAY_SECONDS = 24 * 3600;

export type CodeGuess =
  | { ok: true; settle(wrong: boolean): Promise<{ left: number; blockedUntil: number | undefined }> }
  | { ok: false; blockedUntil: number };

export interface CodeBudget {
  /** Counts a guess for the address, or says until when the address may not guess. */
  begin(email: string): Promise<CodeGuess>;
  /** Until when the address may not guess (epoch ms), if it is blocked now. */
  blockedUntil(email: string): Promise<number | undefined>;
}

export function createCodeBudget(deps: { rateLimits: RateLimits; clock: Clock; keyHash: (value: string) => string; maxFailures: number }): CodeBudget {
  // A backoff with no delay before the last free failure and a 24-hour one after it is exactly "N a day".
  const nADay: BackoffPolicy = {
    kind: 'backoff',
    freeFailures: deps.maxFailures - 1,
    baseDelaySeconds: DAY_SECONDS,
    maxDelaySeconds: DAY_SECONDS,
    forgetAfterSeconds: DAY_SECONDS,
  };
  const policy = counterRule(nADay);
  const keyOf = (email: string) => `code:address:${deps.keyHash(normaliseEmail(email))}`;

  async function blockedUntil(email: string): Promise<number | undefined> {
    const now = deps.clock.now();
    const state = await deps.rateLimits.read(keyOf(email));
    return waitMs(state, now) > 0 ? state!.blockedUntil! : undefined;
  }

  return {
    blockedUntil,
    async begin(email) {
      const key = keyOf(email);
      const counted = await deps.rateLimits.hit(key, policy);
      if (!counted.allowed) return { ok: false, blockedUntil: (await blockedUntil(email)) ?? deps.clock.now() + counted.retryAfterSeconds * 1000 };
      return {
        ok: true,
        async settle(wrong) {
          if (!wrong) await deps.rateLimits.refund(key, policy);
          const state = await deps.rateLimits.read(key);
          const now = deps.clock.now();
          return {
            left: Math.max(0, deps.maxFailures - (state?.hits ?? 0)),
            blockedUntil: waitMs(state, now) > 0 ? state!.blockedUntil! : undefined,
          };
        },
      };
    },
  };
}
