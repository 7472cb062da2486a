/**
 * When a code may be mailed (DESIGN §5). Rules:
 * - sends are limited per address and per IP address (fixed hourly windows in the database); the IP's
 *   hit is taken back when the address's limit refuses, so one address cannot use up an IP's allowance;
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
  rateLimits: Pick<RateLimits, 'hit' | 'refund'>;
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
      const ipKey = countsPerIp(ip) ? `send:ip:${ipBucket(ip)}` : undefined;
      const byIp = ipKey ? await deps.rateLimits.hit(ipKey, perIp) : { allowed: true as const };
      if (!byIp.allowed) return Math.ceil(byIp.retryAfterSeconds / 60);
      const byAddress = await deps.rateLimits.hit(`send:email:${deps.keyHash(email)}`, perAddress);
      if (byAddress.allowed) return undefined;
      if (ipKey) await deps.rateLimits.refund(ipKey, perIp);
      return Math.ceil(byAddress.retryAfterSeconds / 60);
    },

    cooldownLeft(flow) {
      return Math.ceil((flow.codeSentAt + deps.settings.codeResendCooldownSeconds * 1000 - deps.clock.now()) / 1000);
    },
  };
}
