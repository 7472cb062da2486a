/**
 * Wires local e-mail accounts: password policy and blocklist, the code key and the keys derived from
 * it, mail, flows, rate limits, the login throttle, device cookies, the per-address code budget, the
 * three steps of registration and reset and their routes, the development outbox page and the periodic
 * sweep. Rules: the code key is CODE_HMAC_SECRET (development generates one and keeps it in the store,
 * like the other secrets; production refuses to start without it), and each job gets its own key
 * derived from it; the outbox page exists only outside production and only while mail goes to the outbox.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import type Router from '@koa/router';
import type { Config } from '../config/index.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Database } from '../store/db.js';
import type { AccountRepository } from '../store/accounts.js';
import type { AuditLog } from '../store/audit.js';
import type { Metrics } from '../observability/metrics.js';
import type { Renderer } from '../views/renderer.js';
import type { InteractionRoutes } from '../interactions/interaction-context.js';
import { getOrCreateSecret } from '../store/secrets.js';
import { createFlowRepository } from '../store/flows.js';
import { createLocalAccountStore } from '../store/local-accounts.js';
import { createRateLimits } from '../store/rate-limits.js';
import { startLocalSweeper, type LocalSweepDeps } from '../store/local-sweep.js';
import { createPasswordPolicy } from '../policies/password-rules.js';
import { loadBlocklist } from '../passwords/blocklist.js';
import { createMailer } from '../mail/mailer.js';
import { createDevOutboxRouter } from '../http/dev-outbox.js';
import { createLoginThrottle, type LoginThrottle } from '../interactions/login-throttle.js';
import { createDeviceCookies, type DeviceCookies } from '../interactions/device-cookie.js';
import { createCodeBudget } from '../interactions/local-accounts/code-budget.js';
import { createSendLimits } from '../interactions/local-accounts/send-limits.js';
import { createLocalMail } from '../interactions/local-accounts/local-mail.js';
import { createFlowPages } from '../interactions/local-accounts/pages.js';
import { createSendCode } from '../interactions/local-accounts/send-code.js';
import { createVerifyCode } from '../interactions/local-accounts/verify-code.js';
import { createChoosePassword } from '../interactions/local-accounts/choose-password.js';
import { localAccountRoutes } from '../interactions/local-accounts/routes.js';

export interface LocalAccounts {
  routes: InteractionRoutes;
  loginThrottle: LoginThrottle;
  deviceCookies: DeviceCookies;
  /** Pages outside the interaction (the development outbox). */
  pageRouters: Router[];
  startSweeper(onError: (err: unknown) => void): { stop(): void };
  close(): void;
}

export async function wireLocalAccounts(deps: {
  config: Config;
  db: Database;
  clock: Clock;
  logger: Logger;
  renderer: Renderer;
  accounts: AccountRepository;
  audit: AuditLog;
  metrics: Pick<Metrics, 'localFlow' | 'mail'>;
}): Promise<LocalAccounts> {
  const { config, db, clock, logger, audit } = deps;
  const settings = config.localAccounts;
  const secret = config.secrets.codeHmacSecret ?? (await getOrCreateSecret(db, clock, 'CODE_HMAC_SECRET', () => crypto.randomBytes(32).toString('hex')));
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
    baseDelaySeconds: settings.loginBaseDelaySeconds,
    maxDelaySeconds: settings.loginMaxDelaySeconds,
  });
  const deviceCookies = createDeviceCookies({ key: deviceKey, clock, lifetimeDays: config.guessing.deviceCookieDays });
  const codeBudget = createCodeBudget({ rateLimits, clock, keyHash, maxFailures: config.guessing.codeMaxFailuresPerAddress });
  const mail = createLocalMail({ mailer, logger, clock, settings });
  const pages = createFlowPages({ clock, codes: settings, policy });
  const countFlow = deps.metrics.localFlow;
  const steps = {
    sendCode: createSendCode({ accounts: deps.accounts, flows, codeBudget, limits: createSendLimits({ rateLimits, keyHash, clock, settings }), mail, pages, audit, countFlow }),
    verifyCode: createVerifyCode({ flows, codeBudget, pages, audit }),
    choosePassword: createChoosePassword({ policy, store, loginThrottle, deviceCookies, mail, pages, audit, logger, countFlow }),
  };
  const sweepDeps: LocalSweepDeps = { db, clock, audit, retentionDays: settings.retentionDays, auditRetentionDays: config.compliance.auditRetentionDays };

  return {
    routes: localAccountRoutes({ flows, clock, steps }),
    loginThrottle,
    deviceCookies,
    pageRouters: config.nodeEnv !== 'production' && mailer.kind === 'outbox' ? [createDevOutboxRouter(deps.renderer, outboxDir)] : [],
    startSweeper: (onError) =>
      startLocalSweeper(sweepDeps, config.sweepIntervalSeconds, onError, (swept) => {
        if (swept.deletedAccounts.length) logger.info({ count: swept.deletedAccounts.length }, 'inactive accounts deleted');
        if (swept.auditEvents) logger.info({ count: swept.auditEvents }, 'old audit events purged');
      }),
    close: () => mailer.close(),
  };
}
