/**
 * Throttling of password logins (DESIGN §5), counted in the database so it holds across instances.
 * Rules:
 * - failures count per account (per normalised login name when no account has it, so a known and an
 *   unknown address behave alike) and per client IP address (its /64 for IPv6; none for loopback, see
 *   countsPerIp in src/policies/throttle.ts); both are counted at once (src/store/rate-limits.ts
 *   `hitEach`, IP first; one statement on PostgreSQL): while the IP address is blocked nothing is
 *   counted for the account, and when the account refuses, the IP address's hit is taken back, so a
 *   refused attempt adds to no count;
 * - an attempt is counted before the password is checked, so parallel guesses cannot all slip in before
 *   the count; a success clears the account's count and takes the IP's hit back at once
 *   (`clearAndRefund`, one statement on PostgreSQL);
 * - after `freeFailures` failures each further one doubles the wait, from `baseDelaySeconds` (30 by
 *   default) up to `maxDelaySeconds`: a delay, never a permanent lockout an attacker could impose on a victim; an IP
 *   address gets four times as many free failures (people share NATs); a password reset clears the
 *   account's count, so the owner of the mailbox always has a way in;
 * - a browser that presents a valid device cookie for the account (device-cookie.ts) draws on its own
 *   budget, counted per device nonce with the account's policy: the account-wide and per-IP delays that
 *   other people's failures build up do not hold it back, and its own failures count only against
 *   itself, so a device cookie that keeps failing is delayed like an account (OWASP's device lockout).
 *   Such a cookie cannot help anyone guess: it is bound to one account and comes from a login to it.
 */
import type { BackoffPolicy } from '../policies/throttle.js';
import { counterRule, countsPerIp, ipBucket } from '../policies/throttle.js';
import type { RateLimits } from '../store/rate-limits.js';
import { isLegacyUsername, normaliseEmail, normaliseLegacyUsername } from '../store/accounts.js';

export type LoginGate = { ok: true; settle(success: boolean): Promise<void> } | { ok: false; retryAfterSeconds: number };

export interface LoginThrottle {
  /** `device` is the nonce of a valid device cookie for `accountId`, when the browser sent one. */
  begin(attempt: { accountId: string | undefined; login: string; ip: string; device?: string | undefined }): Promise<LoginGate>;
  /** Forgets an account's failures (after a password reset). */
  clearAccount(accountId: string): Promise<void>;
}

export function createLoginThrottle(deps: {
  rateLimits: RateLimits;
  /** A keyed hash, so login names are not stored in the clear. */
  keyHash: (value: string) => string;
  freeFailures: number;
  /** The first delay; a base longer than the longest delay is cut to it. */
  baseDelaySeconds: number;
  maxDelaySeconds: number;
}): LoginThrottle {
  const perAccount: BackoffPolicy = {
    kind: 'backoff',
    freeFailures: deps.freeFailures,
    baseDelaySeconds: Math.min(deps.baseDelaySeconds, deps.maxDelaySeconds),
    maxDelaySeconds: deps.maxDelaySeconds,
    forgetAfterSeconds: 24 * 3600,
  };
  const account = counterRule(perAccount);
  const ip = counterRule({ ...perAccount, freeFailures: deps.freeFailures * 4 });
  const accountKey = (id: string) => `login:account:${id}`;

  /** A known browser: its own counter, nothing else. */
  async function beginDevice(nonce: string): Promise<LoginGate> {
    const deviceKey = `login:device:${deps.keyHash(nonce)}`;
    const byDevice = await deps.rateLimits.hit(deviceKey, account);
    if (!byDevice.allowed) return { ok: false, retryAfterSeconds: byDevice.retryAfterSeconds };
    return {
      ok: true,
      async settle(success) {
        if (success) await deps.rateLimits.clear(deviceKey);
      },
    };
  }

  return {
    async begin(attempt) {
      if (attempt.accountId && attempt.device) return beginDevice(attempt.device);
      const name = isLegacyUsername(attempt.login) ? normaliseLegacyUsername(attempt.login) : normaliseEmail(attempt.login);
      const ownKey = attempt.accountId ? accountKey(attempt.accountId) : `login:name:${deps.keyHash(name)}`;
      const own = { key: ownKey, policy: account };
      const byIp = countsPerIp(attempt.ip) ? { key: `login:ip:${ipBucket(attempt.ip)}`, policy: ip } : undefined;
      // The IP address first: every login lists its keys in this order (rate-limits.ts locks them in it).
      const counted = await deps.rateLimits.hitEach(byIp ? [byIp, own] : [own]);
      if (!counted.allowed) return { ok: false, retryAfterSeconds: counted.retryAfterSeconds };
      return {
        ok: true,
        async settle(success) {
          if (success) await deps.rateLimits.clearAndRefund(ownKey, byIp);
        },
      };
    },
    clearAccount: (accountId) => deps.rateLimits.clear(accountKey(accountId)),
  };
}
