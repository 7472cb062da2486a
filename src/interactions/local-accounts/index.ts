/**
 * Wires local e-mail accounts from the config: password policy and blocklist, the code key, mail,
 * flows, rate limits, the login throttle, device cookies, the per-address code budget, the registration
 * and reset routes, the development outbox page and the periodic sweep. Rules: the code key is CODE_HMAC_SECRET (development generates one and
 * keeps it in the store, like the other secrets; production refuses to start without it); the outbox
 * page exists only outside production and only while mail goes to the outbox.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import type Router from '@koa/router';
import type { Config } from '../../config/index.js';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import type { Database } from '../../store/db.js';
import type { AccountRepository } from '../../store/accounts.js';
import type { AuditLog } from '../../store/audit.js';
import type { Renderer } from '../render.js';
import type { InteractionRoutes } from '../router.js';
import { getOrCreateSecret } from '../../store/secrets.js';
import { createFlowRepository } from '../../store/flows.js';
import { createLocalAccountStore } from '../../store/local-accounts.js';
import { createRateLimits } from '../../store/rate-limits.js';
import { startLocalSweeper, sweepLocalAccounts, type LocalSweepDeps, type LocalSweepResult } from '../../store/local-sweep.js';
import { createPasswordPolicy } from '../../policies/password-rules.js';
import { loadBlocklist } from '../../passwords/blocklist.js';
import { createMailer } from '../../mail/mailer.js';
import { createDevOutboxRouter } from '../../http/dev-outbox.js';
import { createLoginThrottle, type LoginThrottle } from '../login-throttle.js';
import { createDeviceCookies, type DeviceCookies } from '../device-cookie.js';
import { createCodeBudget } from './code-budget.js';
import { localAccountRoutes } from './routes.js';
import type { Metrics } from '../../observability/metrics.js';

export interface LocalAccounts {
  routes: InteractionRoutes;
  loginThrottle: LoginThrottle;
  deviceCookies: DeviceCookies;
  /** Pages outside the interaction (the development outbox). */
  pageRouters: Router[];
  sweep(): Promise<LocalSweepResult>;
  startSweeper(onError: (err: unknown) => void): { stop(): void };
  close(): void;
}

/** The code key, from config or (development) generated once and kept in the store. */
export async function codeSecret(config: Config, db: Database, clock: Clock): Promise<string> {
  return config.secrets.codeHmacSecret ?? getOrCreateSecret(db, clock, 'CODE_HMAC_SECRET', () => crypto.randomBytes(32).toString('hex'));
}

export async function createLocalAccounts(deps: {
  config: Config;
  db: Database;
  clock: Clock;
  logger: Logger;
  renderer: Renderer;
  accounts: AccountRepository;
  audit: AuditLog;
  metrics: Pick<Metrics, 'localFlow' | 'mail'>;
}): Promise<LocalAccounts> {
  const { config, db, clock, logger } = deps;
  const settings = config.localAccounts;
  const secret = await codeSecret(config, db, clock);
  // Separate keys for separate jobs, both derived from the one secret.
  const derive = (purpose: string) => crypto.createHmac('sha256', secret).update(purpose).digest();
  const codeKey = derive('nordlys one-time codes');
  const rateKey = derive('nordlys rate-limit keys');
  const deviceKey = derive('nordlys device cookies');
  const keyHash = (value: string) => crypto.createHmac('sha256', rateKey).update(value).digest('base64url').slice(0, 32);

  const policy = createPasswordPolicy(settings.passwordPolicy, loadBlocklist(settings.passwordBlocklistFile));
  const outboxDir = path.join(config.dataDir, 'outbox');
  const mailer = createMailer({ smtpUrl: config.mail.smtpUrl, from: config.mail.from, outboxDir, logger, counted: deps.metrics.mail });
  const flows = createFlowRepository(db, clock, {
    codeKey,
    codeTtlSeconds: settings.codeTtlSeconds,
    flowTtlSeconds: settings.flowTtlSeconds,
    maxAttempts: settings.codeMaxAttempts,
  });
  const rateLimits = createRateLimits(db, clock);
  const store = createLocalAccountStore(db, clock);
  const loginThrottle = createLoginThrottle({
    rateLimits,
    keyHash,
    freeFailures: settings.loginFreeFailures,
    maxDelaySeconds: settings.loginMaxDelaySeconds,
  });
  const deviceCookies = createDeviceCookies({ key: deviceKey, clock, lifetimeDays: config.guessing.deviceCookieDays });
  const codeBudget = createCodeBudget({ rateLimits, clock, keyHash, maxFailures: config.guessing.codeMaxFailuresPerAddress });
  const sweepDeps: LocalSweepDeps = { db, clock, audit: deps.audit, retentionDays: settings.retentionDays, auditRetentionDays: config.compliance.auditRetentionDays };

  return {
    routes: localAccountRoutes({
      settings,
      clock,
      logger,
      audit: deps.audit,
      accounts: deps.accounts,
      flows,
      store,
      rateLimits,
      loginThrottle,
      deviceCookies,
      codeBudget,
      mailer,
      policy,
      keyHash,
      countFlow: deps.metrics.localFlow,
    }),
    loginThrottle,
    deviceCookies,
    pageRouters: config.nodeEnv !== 'production' && mailer.kind === 'outbox' ? [createDevOutboxRouter(deps.renderer, outboxDir)] : [],
    sweep: () => sweepLocalAccounts(sweepDeps),
    startSweeper: (onError) =>
      startLocalSweeper(sweepDeps, config.sweepIntervalSeconds, onError, (swept) => {
        if (swept.deletedAccounts.length) logger.info({ count: swept.deletedAccounts.length }, 'inactive accounts deleted');
        if (swept.auditEvents) logger.info({ count: swept.auditEvents }, 'old audit events purged');
      }),
    close: () => mailer.close(),
  };
}
