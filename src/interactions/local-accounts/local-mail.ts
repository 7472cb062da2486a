/**
 * The mails of registration and password reset, composed in the flow's language. Rules: a failed send
 * is logged with MailError's reason, never the error itself (an SMTP reply often repeats the
 * recipient's address) and never the address or the code; the caller is told it failed and decides
 * what the user sees and what is audited.
 */
import type { Clock } from '../../clock.js';
import type { LocalAccountSettings } from '../../config/index.js';
import type { Locale } from '../../i18n/locales.js';
import type { Logger } from '../../logger.js';
import { MailError, type Mailer } from '../../mail/mailer.js';
import { composeMail, type MailKind } from '../../mail/messages.js';
import type { FlowKind } from '../../store/flows.js';

export interface LocalMail {
  /** A code, or the notice sent instead of one; false when it could not be sent (any other error is thrown). */
  sendCode(mail: { flow: FlowKind; kind: MailKind; locale: Locale; to: string; code: string | undefined }): Promise<boolean>;
  /** "Your password was changed"; false when it could not be sent, whatever went wrong. */
  sendPasswordChanged(mail: { locale: Locale; to: string; accountId: string }): Promise<boolean>;
}

export function createLocalMail(deps: {
  mailer: Pick<Mailer, 'send'>;
  logger: Logger;
  clock: Clock;
  settings: Pick<LocalAccountSettings, 'codeTtlSeconds' | 'retentionDays'>;
}): LocalMail {
  return {
    async sendCode({ flow, kind, locale, to, code }) {
      const vars = { code, minutes: Math.ceil(deps.settings.codeTtlSeconds / 60), days: deps.settings.retentionDays };
      try {
        await deps.mailer.send({ to, locale, ...composeMail(kind, locale, vars) });
        return true;
      } catch (err) {
        if (!(err instanceof MailError)) throw err;
        deps.logger.warn({ flow, kind, locale, reason: err.reason }, 'mail could not be sent');
        return false;
      }
    },

    async sendPasswordChanged({ locale, to, accountId }) {
      try {
        await deps.mailer.send({ to, locale, ...composeMail('password_changed', locale, { at: deps.clock.now() }) });
        return true;
      } catch (err) {
        deps.logger.warn({ accountId, ...(err instanceof MailError ? { reason: err.reason } : { err }) }, 'password-changed notice could not be sent');
        return false;
      }
    },
  };
}
