/**
 * The background work of a listening instance: the sweep of expired provider rows, the key reload,
 * back-channel logout delivery, the local-account and upstream sweeps, and the session sweep that ends
 * timed-out sessions. Rules: every timer is unref'd and a failure is only logged (the next tick tries
 * again); an ended session is claimed by one instance, audited when someone was logged in, and its
 * relying parties get a back-channel logout from the provider serving now.
 */
import type Provider from 'oidc-provider';
import type { Config } from '../config/index.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Database } from '../store/db.js';
import { AUDIT_EVENTS, type AuditLog } from '../store/audit.js';
import type { SessionEndings } from '../store/session-expiry.js';
import { startSweeper } from '../store/sweeper.js';
import { startSessionSweeper } from '../store/session-sweep.js';
import { sendBackchannelLogouts } from '../provider/session-policy.js';

export type Timer = { stop(): void };

export function startBackground(deps: {
  config: Pick<Config, 'sweepIntervalSeconds' | 'keys' | 'sessions'>;
  db: Database;
  clock: Clock;
  logger: Logger;
  audit: AuditLog;
  sessionEndings: SessionEndings;
  getProvider: () => Provider;
  reloadKeys: () => Promise<boolean>;
  /** Other modules' timers, started here (back-channel delivery, local-account and upstream sweeps). */
  start: Array<() => Timer | Timer[]>;
}): Timer[] {
  const { config, logger, audit } = deps;
  const timers: Timer[] = [];
  timers.push(startSweeper(deps.db, deps.clock, config.sweepIntervalSeconds, (err) => logger.warn({ err }, 'sweep failed')));
  const keyTimer = setInterval(() => {
    deps.reloadKeys().catch((err: unknown) => logger.warn({ err }, 'key reload failed'));
  }, config.keys.refreshSeconds * 1000);
  keyTimer.unref();
  timers.push({ stop: () => clearInterval(keyTimer) });
  for (const start of deps.start) timers.push(...[start()].flat());
  // Sessions that ended by timeout: each is claimed by one instance, and its RPs get a back-channel logout.
  timers.push(startSessionSweeper({
    endings: deps.sessionEndings,
    onEnded: async (session) => {
      if (session.payload.accountId) {
        logger.info({ accountId: session.payload.accountId, reason: session.reason }, 'session ended by timeout');
        await audit.record({ event: AUDIT_EVENTS.logoutTimeout, outcome: 'success', actor: 'system', accountId: session.payload.accountId, detail: { reason: session.reason } });
      }
      await sendBackchannelLogouts(deps.getProvider(), session);
    },
    onError: (err) => logger.warn({ err }, 'session sweep failed'),
  }, config.sessions.sweepIntervalSeconds));
  return timers;
}
