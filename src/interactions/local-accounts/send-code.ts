/**
 * The first step of registration and password reset: an e-mail address in, a mail out. Rules:
 * - the answer never depends on whether the address has an account: every valid request looks the
 *   account up, sends exactly one mail (a code, or a notice — "you already have an account" for
 *   registration, "there is no account" for reset), stores one flow and redirects to the same code page;
 *   when no code was mailed the flow holds a code nobody knows, so the code page behaves the same too;
 * - sends are limited per address and per IP address (fixed hourly windows in the database), and a
 *   resend waits for the cooldown; both limits say when to try again;
 * - an address that has used up its code-guessing budget (code-budget.ts) is sent nothing until the
 *   budget returns: the page says when, for known and unknown addresses alike;
 * - the mail is sent before anything is stored: a failed send shows "could not send, try again", is
 *   audited, and leaves nothing half-created (a failed resend leaves the earlier code valid).
 */
import { MailError } from '../../mail/mailer.js';
import { composeMail, type MailKind } from '../../mail/messages.js';
import { counterRule, ipBucket } from '../../policies/throttle.js';
import { normaliseEmail } from '../../store/accounts.js';
import { generateCode, type Flow, type FlowKind } from '../../store/flows.js';
import type { Locale } from '../../i18n/locales.js';
import type { InteractionContext } from '../interaction-context.js';
import { requestIp } from '../request-ip.js';
import { addressBlocked, auditBase, flowUrls, renderCode, renderStart, type LocalAccountDeps } from './pages.js';

const MAX_EMAIL_LENGTH = 254;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

interface Plan {
  mail: MailKind;
  code: string | undefined;
  accountId: string | null;
}

export function createSendCode(deps: LocalAccountDeps) {
  const perAddress = counterRule({ kind: 'window', limit: deps.settings.codeSendsPerAddressHourly, windowSeconds: 3600 });
  const perIp = counterRule({ kind: 'window', limit: deps.settings.codeSendsPerIpHourly, windowSeconds: 3600 });

  /** Counts a send against both limits; returns the minutes to wait when one refuses. */
  async function limit(ic: InteractionContext, email: string): Promise<number | undefined> {
    const ipKey = `send:ip:${ipBucket(requestIp(ic.ctx))}`;
    const byIp = await deps.rateLimits.hit(ipKey, perIp);
    if (!byIp.allowed) return Math.ceil(byIp.retryAfterSeconds / 60);
    const byAddress = await deps.rateLimits.hit(`send:email:${deps.keyHash(email)}`, perAddress);
    if (byAddress.allowed) return undefined;
    await deps.rateLimits.refund(ipKey, perIp);
    return Math.ceil(byAddress.retryAfterSeconds / 60);
  }

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
    const vars = { code: p.code, minutes: Math.ceil(deps.settings.codeTtlSeconds / 60), days: deps.settings.retentionDays };
    try {
      await deps.mailer.send({ to: email, locale, ...composeMail(p.mail, locale, vars) });
      return true;
    } catch (err) {
      if (!(err instanceof MailError)) throw err;
      // The reason, not the error: an SMTP reply often repeats the recipient's address.
      deps.logger.warn({ flow: kind, kind: p.mail, locale, reason: err.reason }, 'mail could not be sent');
      await deps.audit.record({ ...auditBase(ic), event: `${kind}.mail`, outcome: 'failure', detail: { reason: 'send_failed' } });
      return false;
    }
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
        return renderStart(ic, kind, { email, ...addressBlocked(ic, deps, blocked) }, 429);
      }
      const wait = await limit(ic, email);
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
      const waitSeconds = Math.ceil((flow.codeSentAt + deps.settings.codeResendCooldownSeconds * 1000 - deps.clock.now()) / 1000);
      if (waitSeconds > 0) {
        return renderCode(ic, deps, flow, { errorId: 'local.code.error.cooldown', errorParams: { seconds: waitSeconds } }, 429);
      }
      const blocked = await deps.codeBudget.blockedUntil(flow.email);
      if (blocked !== undefined) return renderCode(ic, deps, flow, addressBlocked(ic, deps, blocked), 429);
      const wait = await limit(ic, flow.email);
      if (wait !== undefined) {
        return renderCode(ic, deps, flow, { errorId: 'local.error.too_many_codes', errorParams: { minutes: wait } }, 429);
      }
      const p = await plan(flow.kind, flow.email);
      if (!(await deliver(ic, flow.kind, flow.locale as Locale, flow.email, p))) {
        return renderCode(ic, deps, flow, { errorId: 'local.error.mail_failed' }, 503);
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
