/**
 * The mails of registration and password reset, composed in the flow's language (nb, en, sv, uk).
 * Rules: every string comes from the message catalogue; each mail is plain text plus an HTML twin with
 * the same words, every value escaped; no images, no links, nothing that could track the reader; the
 * code never appears in the subject. The kind goes with the mail, so the mailer logs it instead of the
 * subject (which would say, for example, that an address has no account).
 */
import type { Locale } from '../i18n/locales.js';
import { translate, type MessageId, type MessageParams } from '../i18n/translate.js';

export type MailKind = 'registration_code' | 'registration_exists' | 'recovery_code' | 'recovery_unknown' | 'password_changed';

export interface MailVars {
  code?: string;
  minutes?: number;
  days?: number;
  /** When the change happened (epoch ms), for password_changed. */
  at?: number;
}

type Block = { id: MessageId; params?: MessageParams } | { code: string };

const DATE_LOCALES: Record<Locale, string> = { nb: 'nb-NO', en: 'en-GB', sv: 'sv-SE', uk: 'uk-UA' };

function blocks(kind: MailKind, vars: MailVars, locale: Locale): Block[] {
  const code = vars.code ?? '';
  const validity: Block = { id: 'mail.code.validity', params: { minutes: vars.minutes ?? 0 } };
  switch (kind) {
    case 'registration_code':
      return [{ id: 'mail.registration_code.intro' }, { code }, validity, { id: 'mail.registration_code.ignore' }];
    case 'registration_exists':
      return [{ id: 'mail.registration_exists.intro' }, { id: 'mail.registration_exists.next' }, { id: 'mail.registration_exists.ignore' }];
    case 'recovery_code':
      return [{ id: 'mail.recovery_code.intro' }, { code }, validity, { id: 'mail.recovery_code.ignore' }];
    case 'recovery_unknown':
      return [
        { id: 'mail.recovery_unknown.intro' },
        { id: 'mail.recovery_unknown.why', params: { days: vars.days ?? 0 } },
        { id: 'mail.recovery_unknown.next' },
        { id: 'mail.recovery_unknown.ignore' },
      ];
    case 'password_changed': {
      const time = new Intl.DateTimeFormat(DATE_LOCALES[locale], { dateStyle: 'long', timeStyle: 'long', timeZone: 'Europe/Oslo' }).format(
        new Date(vars.at ?? 0),
      );
      return [{ id: 'mail.password_changed.intro', params: { time } }, { id: 'mail.password_changed.not_you' }];
    }
  }
}

const SUBJECTS: Record<MailKind, MessageId> = {
  registration_code: 'mail.registration_code.subject',
  registration_exists: 'mail.registration_exists.subject',
  recovery_code: 'mail.recovery_code.subject',
  recovery_unknown: 'mail.recovery_unknown.subject',
  password_changed: 'mail.password_changed.subject',
};

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

const P = 'margin:0 0 16px;line-height:1.5;';
const CODE = "margin:0 0 16px;font-size:32px;letter-spacing:6px;font-weight:700;font-family:ui-monospace,Menlo,Consolas,monospace;";

export function composeMail(kind: MailKind, locale: Locale, vars: MailVars): { kind: MailKind; subject: string; text: string; html: string } {
  const t = (id: MessageId, params?: MessageParams) => translate(locale, id, params);
  const subject = t(SUBJECTS[kind]);
  const parts = blocks(kind, vars, locale);
  const footer = t('mail.footer');
  const text = [...parts.map((b) => ('code' in b ? b.code : t(b.id, b.params))), '--', footer].join('\n\n');
  const body = parts
    .map((b) => ('code' in b ? `<p style="${CODE}">${escapeHtml(b.code)}</p>` : `<p style="${P}">${escapeHtml(t(b.id, b.params))}</p>`))
    .join('\n');
  const html = `<!DOCTYPE html>
<html lang="${locale}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(subject)}</title></head>
<body style="margin:0;padding:24px;background:#eef2f6;color:#1b2330;font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;">
<div style="max-width:32rem;margin:0 auto;padding:24px;background:#ffffff;border:1px solid #c3ccd8;border-radius:6px;">
<p style="${P}font-weight:700;">${escapeHtml(t('app.name'))}</p>
${body}
<p style="margin:0;font-size:14px;color:#4a5566;">${escapeHtml(footer)}</p>
</div>
</body>
</html>
`;
  return { kind, subject, text, html };
}
