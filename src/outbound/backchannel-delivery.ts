/**
 * Delivers back-channel logout tokens from the persistent outbox (OpenID Back-Channel Logout 1.0 §2.5).
 * oidc-provider fires a logout token once and forgets it; here every token is written down first, sent at
 * once, and retried with exponential back-off when the relying party is down or answers an error, until it
 * is delivered or the token has expired (after that a relying party must refuse it anyway).
 * Rules:
 * - every failed attempt is logged with its real cause (refused by the SSRF guard, connection refused,
 *   timeout, HTTP status) and the client id; never the token;
 * - several instances share the outbox: each attempt is claimed by one of them (store/backchannel-outbox.ts);
 * - the timer never keeps the process alive, ticks never overlap, and a failed tick is retried next time.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { BackchannelOutbox, OutboxEntry } from '../store/backchannel-outbox.js';
import type { OutboundAllowList } from '../policies/outbound-hosts.js';
import { guardedPostForm } from './guarded-post.js';
import type { Metrics } from '../observability/metrics.js';

export interface BackchannelSettings {
  timeoutMs: number;
  retryBaseSeconds: number;
  retryMaxSeconds: number;
  intervalSeconds: number;
}

export interface BackchannelDelivery {
  /** Writes the token to the outbox and makes the first attempt; true when it was delivered now. */
  send(entry: { clientId: string; url: string; logoutToken: string; expiresAt: number }): Promise<boolean>;
  /** Attempts every due row once; returns how many were delivered. */
  deliverDue(): Promise<number>;
  start(): { stop(): void };
}

const BATCH = 50;

export function createBackchannelDelivery(deps: {
  outbox: BackchannelOutbox;
  allowList: OutboundAllowList;
  settings: BackchannelSettings;
  clock: Clock;
  logger: Logger;
  /** Every attempt's outcome: delivered, failed with a retry to come, or given up (the metrics). */
  count: Metrics['backchannel'];
}): BackchannelDelivery {
  const { outbox, allowList, settings, clock, logger, count } = deps;
  // A claimed attempt may run for the timeout; past that another instance may try it again.
  const lease = () => clock.now() + settings.timeoutMs + 5000;

  async function attempt(entry: OutboxEntry): Promise<boolean> {
    const attemptNo = entry.attempts + 1;
    let cause: string;
    try {
      const { status } = await guardedPostForm(allowList, entry.url, new URLSearchParams({ logout_token: entry.logoutToken }), settings.timeoutMs);
      if (status === 200 || status === 204) {
        await outbox.delivered(entry.id);
        count('delivered');
        logger.info({ clientId: entry.clientId, attempt: attemptNo }, 'back-channel logout delivered');
        return true;
      }
      cause = `HTTP ${status}`;
    } catch (err) {
      const e = err as { name?: string; code?: string; message?: string };
      cause = e.name === 'TimeoutError' || e.name === 'AbortError' ? `no answer within ${settings.timeoutMs} ms` : [e.code, e.message].filter(Boolean).join(' ');
    }
    const delay = Math.min(settings.retryBaseSeconds * 2 ** (attemptNo - 1), settings.retryMaxSeconds) * 1000;
    const next = clock.now() + delay;
    const host = safeHost(entry.url);
    if (next >= entry.expiresAt) {
      await outbox.delivered(entry.id);
      count('given_up');
      logger.warn({ clientId: entry.clientId, host, attempt: attemptNo, cause }, 'back-channel logout failed; the logout token expires before another attempt, giving up');
    } else {
      await outbox.retryAt(entry.id, attemptNo, next, cause);
      count('retry');
      logger.warn({ clientId: entry.clientId, host, attempt: attemptNo, cause, retryInSeconds: delay / 1000 }, 'back-channel logout failed; will retry');
    }
    return false;
  }

  async function deliverDue(): Promise<number> {
    let delivered = 0;
    for (const entry of await outbox.claimDue(BATCH, lease())) if (await attempt(entry)) delivered += 1;
    return delivered;
  }

  return {
    async send(entry) {
      return attempt(await outbox.enqueueClaimed(entry, lease()));
    },
    deliverDue,
    start() {
      let running = false;
      const timer = setInterval(() => {
        if (running) return;
        running = true;
        deliverDue()
          .catch((err: unknown) => logger.warn({ err }, 'back-channel outbox tick failed'))
          .finally(() => {
            running = false;
          });
      }, settings.intervalSeconds * 1000);
      timer.unref();
      return { stop: () => clearInterval(timer) };
    },
  };
}

function safeHost(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}
