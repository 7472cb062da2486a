/**
 * The last step: a verified flow gets its password (and, for registration, a name). Rules:
 * - the password is NFKC-normalised, checked against every rule of the configured preset on the
 *   server, and every broken rule is named in the user's language; nothing is hashed until all pass;
 * - registration creates the account and completes the flow in one transaction; a reset stores the new
 *   hash, ends every session and token of the account, clears its failed-login count and mails
 *   "your password was changed" (a failed notice is audited but does not undo the reset);
 * - both then finish the login (rank `low`, amr `pwd`), so the user lands back in the relying party,
 *   and the browser gets a device cookie for the account as after any login.
 */
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { hashPassword } from '../../passwords/hasher.js';
import { normalisePassword, type PasswordPolicy } from '../../policies/password-rules.js';
import type { Locale } from '../../i18n/locales.js';
import type { Flow } from '../../store/flows.js';
import type { LocalAccountStore } from '../../store/local-accounts.js';
import { AUDIT_EVENTS, type AuditLog } from '../../store/audit.js';
import type { InteractionContext } from '../interaction-context.js';
import type { DeviceCookies } from '../device-cookie.js';
import type { LoginThrottle } from '../login-throttle.js';
import type { LocalMail } from './local-mail.js';
import { auditBase, flowUrls, renderStart, type FlowPages } from './pages.js';

const MAX_NAME_LENGTH = 200;

export interface ChoosePasswordDeps {
  policy: Pick<PasswordPolicy, 'evaluate'>;
  store: Pick<LocalAccountStore, 'completeRegistration' | 'completeRecovery'>;
  /** A reset clears the account's failed-login count, so the owner of the mailbox always has a way in. */
  loginThrottle: Pick<LoginThrottle, 'clearAccount'>;
  /** Registration and reset end in a login, which gives the browser its device cookie. */
  deviceCookies: Pick<DeviceCookies, 'issue'>;
  mail: Pick<LocalMail, 'sendPasswordChanged'>;
  pages: FlowPages;
  audit: AuditLog;
  logger: Logger;
  /** Registrations and resets completed (src/observability/metrics.ts). */
  countFlow: Metrics['localFlow'];
}

export function createChoosePassword(deps: ChoosePasswordDeps) {
  async function finishLogin(ic: InteractionContext, accountId: string): Promise<void> {
    // This browser has now logged in to the account: it gets its own login budget (device-cookie.ts).
    deps.deviceCookies.issue(ic.ctx, accountId);
    // An e-mail + password login reaches rank `low` (DESIGN §3), like the password login itself.
    await ic.finish({ login: { accountId, acr: 'low', amr: ['pwd'] } });
  }

  async function notifyChanged(ic: InteractionContext, flow: Flow, accountId: string): Promise<void> {
    if (await deps.mail.sendPasswordChanged({ locale: flow.locale as Locale, to: flow.email, accountId })) return;
    await deps.audit.record({ ...auditBase(ic), event: 'recovery.mail', outcome: 'failure', accountId, detail: { reason: 'send_failed' } });
  }

  return {
    show(ic: InteractionContext, flow: Flow): void {
      deps.pages.password(ic, flow, {});
    },

    async submit(ic: InteractionContext, flow: Flow): Promise<void> {
      const body = ic.ctx.request.body as Record<string, unknown>;
      const password = normalisePassword(typeof body.password === 'string' ? body.password : '');
      const name = typeof body.name === 'string' ? body.name.normalize('NFC').trim().slice(0, MAX_NAME_LENGTH) : '';
      const broken = deps.policy.evaluate(password, { email: flow.email });
      const nameError = flow.kind === 'registration' && name === '';
      if (broken.length > 0 || nameError) return deps.pages.password(ic, flow, { broken, name, nameError }, 400);

      const passwordHash = await hashPassword(password);
      const base = auditBase(ic);
      if (flow.kind === 'registration') {
        const created = await deps.store.completeRegistration(flow.id, { email: flow.email, name, passwordHash });
        if (!created.ok) {
          if (created.reason === 'duplicate') return deps.pages.password(ic, flow, { name, errorId: 'local.register.error.exists' }, 409);
          return ic.ctx.redirect(flowUrls(ic.uid, flow.kind, flow.id).flow);
        }
        await deps.audit.record({ ...base, event: 'registration.completed', outcome: 'success', accountId: created.accountId });
        deps.countFlow('registration', 'completed');
        deps.logger.info({ accountId: created.accountId }, 'account registered');
        return finishLogin(ic, created.accountId);
      }

      const reset = await deps.store.completeRecovery(flow.id, flow.accountId, passwordHash);
      if (!reset.ok) {
        if (reset.reason === 'no_account') return renderStart(ic, 'registration', { email: flow.email, noticeId: 'local.reset.error.gone' }, 410);
        return ic.ctx.redirect(flowUrls(ic.uid, flow.kind, flow.id).flow);
      }
      await deps.loginThrottle.clearAccount(reset.accountId);
      await deps.audit.record({ ...base, event: 'recovery.completed', outcome: 'success', accountId: reset.accountId });
      deps.countFlow('reset', 'completed');
      await deps.audit.record({ ...base, event: AUDIT_EVENTS.passwordChanged, outcome: 'success', accountId: reset.accountId, detail: { via: 'reset', sessionsEnded: true } });
      deps.logger.info({ accountId: reset.accountId }, 'password reset; sessions ended');
      await notifyChanged(ic, flow, reset.accountId);
      return finishLogin(ic, reset.accountId);
    },
  };
}

export type ChoosePassword = ReturnType<typeof createChoosePassword>;
