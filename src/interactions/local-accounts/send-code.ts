/**
 * The first step of registration and password reset: an e-mail address in, a mail out. Rules:
 * - the answer never depends on whether the address has an account: every valid request looks the
 *   account up, sends exactly one mail (a code, or a notice — "you already have an account" for
 *   registration, "there is no account" for reset), stores one flow and redirects to the same code page;
 *   when no code was mailed the flow holds a code nobody knows, so the code page behaves the same too;
 * - sends are limited per address and per IP address, and a resend waits for the cooldown
 *   (send-limits.ts); both limits say when to try again;
 * - an address that has used up its code-guessing budget (code-budget.ts) is sent nothing until the
 *   budget returns: the page says when, for known and unknown addresses alike;
 * - the mail is sent before anything is stored: a failed send shows "could not send, try again", is
 *   audited, and leaves nothing half-created (a failed resend leaves the earlier code valid).
 */
import type { Metrics } from '../../observability/metrics.js';
import type { MailKind } from '../../mail/messages.js';
import { MAX_EMAIL_LENGTH } from '../../policies/email-address.js';
import { normaliseEmail, type AccountRepository } from '../../store/accounts.js';
import type { AuditLog } from '../../store/audit.js';
import { generateCode, type Flow, type FlowKind, type FlowRepository } from '../../store/flows.js';
import type { Locale } from '../../i18n/locales.js';
import type { InteractionContext } from '../interaction-context.js';
import { requestIp } from '../request-ip.js';
import type { CodeBudget } from './code-budget.js';
import type { LocalMail } from './local-mail.js';
import { auditBase, flowUrls, renderStart, type FlowPages } from './pages.js';
import type { SendLimits } from './send-limits.js';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

interface Plan {
  mail: MailKind;
  code: string | undefined;
  accountId: string | null;
}

export interface SendCodeDeps {
  accounts: Pick<AccountRepository, 'findLocalCredentials'>;
  flows: Pick<FlowRepository, 'create' | 'replaceCode'>;
  /** An address that has used up its code-guessing budget is sent nothing. */
  codeBudget: Pick<CodeBudget, 'blockedUntil'>;
  limits: SendLimits;
  mail: LocalMail;
  pages: FlowPages;
  audit: AuditLog;
  /** Registrations and resets started (code mailed) (src/observability/metrics.ts). */
  countFlow: Metrics['localFlow'];
}

export function createSendCode(deps: SendCodeDeps) {
  /** What to mail: the same lookup, the same amount of work, whichever way it goes. */
  async function plan(kind: FlowKind, email: string): Promise<Plan> {
    const credentials = await deps.accounts.findLocalCredentials(email);
    const code = generateCode();
    if (kind === 'registration') {
      return credentials ? { mail: 'registration_exists', code: undefined, accountId: null } : { mail: 'registration_code', code, accountId: null };
    }
    return credentials ? { mail: 'recovery_code', code, accountId: credentials.accountId } : { mail: 'recovery_unknown', code: undefined, accountId: null };
  }

  async function deliver(ic: InteractionContext, kind: FlowKind, locale: Locale, email: string, p: Plan): Promise<boolean> {
    if (await deps.mail.sendCode({ flow: kind, kind: p.mail, locale, to: email, code: p.code })) return true;
    await deps.audit.record({ ...auditBase(ic), event: `${kind}.mail`, outcome: 'failure', detail: { reason: 'send_failed' } });
    return false;
  }

  return {
    show(ic: InteractionContext, kind: FlowKind): void {
      const hint = (ic.details.params as Record<string, unknown>).login_hint;
      const email = typeof hint === 'string' && hint.includes('@') ? hint.slice(0, MAX_EMAIL_LENGTH) : '';
      renderStart(ic, kind, { email });
    },

    async submit(ic: InteractionContext, kind: FlowKind): Promise<void> {
      const body = ic.ctx.request.body as Record<string, unknown>;
      const typed = typeof body.email === 'string' ? body.email.trim().slice(0, 1000) : '';
      const email = normaliseEmail(typed);
      if (!EMAIL.test(email) || email.length > MAX_EMAIL_LENGTH) {
        return renderStart(ic, kind, { email: typed.slice(0, MAX_EMAIL_LENGTH), errorId: 'local.error.email_invalid', fieldError: true }, 400);
      }
      const blocked = await deps.codeBudget.blockedUntil(email);
      if (blocked !== undefined) {
        await deps.audit.record({ ...auditBase(ic), event: `${kind}.code_sent`, outcome: 'failure', detail: { reason: 'address_blocked' } });
        return renderStart(ic, kind, { email, ...deps.pages.addressBlocked(ic, blocked) }, 429);
      }
      const wait = await deps.limits.hit(requestIp(ic.ctx), email);
      if (wait !== undefined) {
        await deps.audit.record({ ...auditBase(ic), event: `${kind}.code_sent`, outcome: 'failure', detail: { reason: 'rate_limited' } });
        return renderStart(ic, kind, { email, errorId: 'local.error.too_many_codes', errorParams: { minutes: wait } }, 429);
      }
      const p = await plan(kind, email);
      if (!(await deliver(ic, kind, ic.locale, email, p))) {
        return renderStart(ic, kind, { email, errorId: 'local.error.mail_failed' }, 503);
      }
      const flow = await deps.flows.create({ kind, interactionUid: ic.uid, locale: ic.locale, email, accountId: p.accountId, code: p.code });
      await deps.audit.record({ ...auditBase(ic), event: `${kind}.code_sent`, outcome: 'success', accountId: p.accountId ?? undefined, detail: { mail: p.mail } });
      deps.countFlow(kind === 'registration' ? 'registration' : 'reset', 'started');
      ic.ctx.status = 303;
      ic.ctx.redirect(flowUrls(ic.uid, kind, flow.id).flow);
    },

    async resend(ic: InteractionContext, flow: Flow): Promise<void> {
      const waitSeconds = deps.limits.cooldownLeft(flow);
      if (waitSeconds > 0) {
        return deps.pages.code(ic, flow, { errorId: 'local.code.error.cooldown', errorParams: { seconds: waitSeconds } }, 429);
      }
      const blocked = await deps.codeBudget.blockedUntil(flow.email);
      if (blocked !== undefined) return deps.pages.code(ic, flow, deps.pages.addressBlocked(ic, blocked), 429);
      const wait = await deps.limits.hit(requestIp(ic.ctx), flow.email);
      if (wait !== undefined) {
        return deps.pages.code(ic, flow, { errorId: 'local.error.too_many_codes', errorParams: { minutes: wait } }, 429);
      }
      const p = await plan(flow.kind, flow.email);
      if (!(await deliver(ic, flow.kind, flow.locale as Locale, flow.email, p))) {
        return deps.pages.code(ic, flow, { errorId: 'local.error.mail_failed' }, 503);
      }
      if (!(await deps.flows.replaceCode(flow.id, p.code, p.accountId))) {
        // The flow moved on meanwhile (its code was used, say in another tab): the new code is void, so
        // say nothing about a new code and show the flow where it is.
        ic.ctx.status = 303;
        return ic.ctx.redirect(flowUrls(ic.uid, flow.kind, flow.id).flow);
      }
      await deps.audit.record({ ...auditBase(ic), event: `${flow.kind}.code_sent`, outcome: 'success', accountId: p.accountId ?? undefined, detail: { mail: p.mail, resend: true } });
      ic.ctx.status = 303;
      ic.ctx.redirect(`${flowUrls(ic.uid, flow.kind, flow.id).flow}?sent=1`);
    },
  };
}

export type SendCode = ReturnType<typeof createSendCode>;
