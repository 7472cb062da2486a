/**
 * When a code may be mailed (DESIGN §5). Rules:
 * - sends are limited per address and per IP address (fixed hourly windows in the database); the IP's
 *   hit is taken back when the address's limit refuses, so one address cannot use up an IP's allowance;
 *   both are counted by one hitEach (IP first, as the login's counts: one statement on PostgreSQL);
 * - a resend waits for the cooldown after the flow's last code;
 * - the address is counted under a keyed hash, never in the clear.
 */
import type { Clock } from '../../clock.js';
import type { LocalAccountSettings } from '../../config/index.js';
import { counterRule, countsPerIp, ipBucket } from '../../policies/throttle.js';
import type { Flow } from '../../store/flows.js';
import type { RateLimits } from '../../store/rate-limits.js';

export interface SendLimits {
  /** Counts a send against both hourly limits; the minutes to wait when one refuses. */
  hit(ip: string, email: string): Promise<number | undefined>;
  /** Seconds until the flow's code may be sent again (none left: zero or less). */
  cooldownLeft(flow: Flow): number;
}

export function createSendLimits(deps: {
  rateLimits: Pick<RateLimits, 'hitEach'>;
  /** A keyed hash, so addresses are not stored in the clear. */
  keyHash: (value: string) => string;
  clock: Clock;
  settings: Pick<LocalAccountSettings, 'codeSendsPerAddressHourly' | 'codeSendsPerIpHourly' | 'codeResendCooldownSeconds'>;
}): SendLimits {
  const perAddress = counterRule({ kind: 'window', limit: deps.settings.codeSendsPerAddressHourly, windowSeconds: 3600 });
  const perIp = counterRule({ kind: 'window', limit: deps.settings.codeSendsPerIpHourly, windowSeconds: 3600 });

  return {
    async hit(ip, email) {
      // No per-IP limit for loopback (countsPerIp): there it would limit everybody at once.
      const byIp = countsPerIp(ip) ? [{ key: `send:ip:${ipBucket(ip)}`, policy: perIp }] : [];
      // A refusal by the address takes the IP's hit back (hitEach refunds what it counted before it).
      const result = await deps.rateLimits.hitEach([...byIp, { key: `send:email:${deps.keyHash(email)}`, policy: perAddress }]);
      return result.allowed ? undefined : Math.ceil(result.retryAfterSeconds / 60);
    },

    cooldownLeft(flow) {
      return Math.ceil((flow.codeSentAt + deps.settings.codeResendCooldownSeconds * 1000 - deps.clock.now()) / 1000);
    },
  };
}
