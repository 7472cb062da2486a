/**
 * The e-mail + password strategy of the login prompt. Rules:
 * - missing fields, an unknown address and a wrong password are answered with a localised message on
 *   the page (status 400/401), the address kept so the user need not retype it;
 * - an unknown address costs the same argon2 verify as a known one (no enumeration by timing);
 * - every success and failure is written to the audit trail (never the password);
 * - a hash made with older argon2 parameters is replaced on a successful login;
 * - the login name is an e-mail address or a legacy six-character username; the password is
 *   NFKC-normalised as it was when it was set (src/policies/password-rules.ts);
 * - attempts are throttled per account and per IP address (src/interactions/login-throttle.ts): a
 *   throttled attempt gets 429 and says when to try again, before any password is checked;
 * - a browser with a device cookie for the account (src/interactions/device-cookie.ts) is throttled on
 *   its own budget instead, and every successful login gives the browser a fresh device cookie.
 */
import type { Logger } from '../logger.js';
import type { AccountRepository } from '../store/accounts.js';
import type { AuditLog } from '../store/audit.js';
import { MAX_PASSWORD_LENGTH, verifyPassword } from '../passwords/hasher.js';
import type { InteractionContext } from './interaction-context.js';
import type { LoginThrottle } from './login-throttle.js';
import type { DeviceCookies } from './device-cookie.js';
import { requestIp } from './request-ip.js';
import { normalisePassword } from '../policies/password-rules.js';
import { MAX_EMAIL_LENGTH } from '../policies/email-address.js';
import { methodChoice, showLoginPage } from './login-methods.js';
import { BadRequestError } from '../errors.js';
import { isMessageId } from '../i18n/translate.js';
import type { LoginCounters } from '../observability/metrics.js';

/** The note of the `session_ended` login Check (src/provider/session-policy.ts), if it fired. */
function sessionEndedNotice(ic: InteractionContext): Record<string, unknown> {
  const details = (ic.details.prompt as { details?: Record<string, unknown> } | undefined)?.details;
  const notice = details?.session_ended as { id?: unknown; params?: Record<string, number> } | undefined;
  return notice && isMessageId(notice.id) ? { noticeId: notice.id, noticeParams: notice.params ?? {} } : {};
}

export interface PasswordLoginDeps {
  accounts: AccountRepository;
  audit: AuditLog;
  logger: Logger;
  loginThrottle: LoginThrottle;
  deviceCookies: DeviceCookies;
  /** Login metrics (src/observability/metrics.ts): outcomes and throttling refusals. */
  count: LoginCounters;
}

export function createPasswordLogin(deps: PasswordLoginDeps) {
  const urls = (uid: string) => ({ actionUrl: `/interaction/${uid}/login`, abortUrl: `/interaction/${uid}/abort` });

  const page = (ic: InteractionContext, vars: Record<string, unknown>) => showLoginPage(ic, { ...urls(ic.uid), ...vars });

  return {
    async show(ic: InteractionContext): Promise<void> {
      const hint = (ic.details.params as Record<string, unknown>).login_hint;
      await page(ic, { email: typeof hint === 'string' ? hint.slice(0, MAX_EMAIL_LENGTH) : '', ...sessionEndedNotice(ic) });
    },

    async submit(ic: InteractionContext): Promise<void> {
      const body = ic.ctx.request.body as Record<string, unknown>;
      const email = typeof body.email === 'string' ? body.email.trim().slice(0, MAX_EMAIL_LENGTH) : '';
      const password = typeof body.password === 'string' ? body.password : '';
      const { clientId } = ic;
      const ip = requestIp(ic.ctx);
      const auditBase = { event: 'login.password', clientId, ip, requestId: String(ic.ctx.state.requestId ?? '') };

      // The e-mail form is refused when this client or request does not accept an e-mail login.
      const method = methodChoice(ic).password;
      if (!method) throw new BadRequestError('e-mail login is not offered for this request');
      if (!email || !password) {
        ic.ctx.status = 400;
        await page(ic, { email, errorId: 'login.error.missing_fields' });
        return;
      }
      const credentials = password.length <= MAX_PASSWORD_LENGTH ? await deps.accounts.findLocalCredentials(email) : undefined;
      const device = credentials ? deps.deviceCookies.read(ic.ctx, credentials.accountId) : undefined;
      const gate = await deps.loginThrottle.begin({ accountId: credentials?.accountId, login: email, ip, device });
      const known: Record<string, boolean> = device ? { device: true } : {};
      if (!gate.ok) {
        await deps.audit.record({ ...auditBase, outcome: 'failure', accountId: credentials?.accountId, detail: { reason: 'throttled', ...known } });
        deps.count.login({ method: method.kind, outcome: 'failure' });
        deps.count.refusal('throttled');
        ic.ctx.status = 429;
        ic.ctx.set('Retry-After', String(gate.retryAfterSeconds));
        await page(ic, { email, errorId: 'local.login.throttled', errorParams: { minutes: Math.ceil(gate.retryAfterSeconds / 60) } });
        return;
      }
      const result = await verifyPassword(credentials?.passwordHash, normalisePassword(password));
      await gate.settle(Boolean(credentials && result.ok));
      if (!credentials || !result.ok) {
        await deps.audit.record({ ...auditBase, outcome: 'failure', accountId: credentials?.accountId, detail: { reason: credentials ? 'wrong_password' : 'unknown_account', ...known } });
        deps.count.login({ method: method.kind, outcome: 'failure' });
        ic.ctx.status = 401;
        await page(ic, { email, errorId: 'login.error.invalid_credentials' });
        return;
      }
      if (result.rehash) await deps.accounts.updatePasswordHash(credentials.accountId, result.rehash);
      await deps.accounts.recordLogin(credentials.accountId, credentials.lastLoginAt);
      await deps.audit.record({ ...auditBase, outcome: 'success', accountId: credentials.accountId, ...(device ? { detail: known } : {}) });
      deps.deviceCookies.issue(ic.ctx, credentials.accountId);
      deps.logger.info({ accountId: credentials.accountId, clientId }, 'login succeeded');
      deps.count.login({ method: method.kind, outcome: 'success', acr: 'low' });
      // An e-mail + password login reaches rank `low` (DESIGN §3); the provider writes it in the request's vocabulary.
      await ic.finish({ login: { accountId: credentials.accountId, acr: 'low', amr: ['pwd'] } });
    },
  };
}
