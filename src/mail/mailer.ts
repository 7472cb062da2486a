/**
 * Sending mail (DESIGN §5, §8). Rules:
 * - with SMTP_URL, nodemailer delivers over SMTP, with short timeouts: the user is waiting for the page;
 * - without it (development; production refuses to start that way) every message is written to the
 *   outbox folder as a real MIME message (.eml) plus a small JSON summary that the development outbox
 *   page reads;
 * - either way the log says only "mail sent" with the kind, locale and message id: never the address
 *   (it would tell a log reader who has an account), never the subject (it says which mail it was,
 *   e.g. "there is no account"), never the body (it holds the code); a failure is logged by the
 *   caller from MailError's `reason`, which keeps the transport's code and not its text (an SMTP
 *   reply often repeats the recipient);
 * - every message is plain text plus HTML, marked Auto-Submitted, and carries no tracking: no remote
 *   images, no tracked links, no per-recipient identifiers;
 * - a failed send rejects with MailError; callers decide what the user sees.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Logger } from '../logger.js';

export interface OutgoingMail {
  /** Which mail this is (src/mail/messages.ts); logged instead of the subject. */
  kind: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** The language of the message (Content-Language). */
  locale: string;
}

export interface Mailer {
  /** 'smtp' in production, 'outbox' in development. */
  kind: 'smtp' | 'outbox';
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/** What may be logged about a failed send: the transport's error code and SMTP status, no text. */
export interface MailFailure {
  code: string | undefined;
  responseCode: number | undefined;
}

export class MailError extends Error {
  readonly reason: MailFailure;
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    const cause = options.cause as { code?: unknown; responseCode?: unknown } | undefined;
    this.reason = {
      code: typeof cause?.code === 'string' ? cause.code : undefined,
      responseCode: typeof cause?.responseCode === 'number' ? cause.responseCode : undefined,
    };
  }
}

export interface MailerOptions {
  smtpUrl: string | undefined;
  from: string;
  outboxDir: string;
  logger: Logger;
  now?: () => number;
  /** Told of every send's outcome (the mail metrics); never of the address. */
  counted?: (outcome: 'sent' | 'failed') => void;
}

export interface OutboxEntry {
  id: string;
  to: string;
  subject: string;
  text: string;
  sentAt: string;
}

const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 };

export function createMailer(options: MailerOptions): Mailer {
  const mailer = createTransportMailer(options);
  const counted = options.counted;
  if (!counted) return mailer;
  return {
    ...mailer,
    send: (mail) => mailer.send(mail).then(
      () => counted('sent'),
      (err: unknown) => {
        counted('failed');
        throw err;
      },
    ),
  };
}

function createTransportMailer(options: MailerOptions): Mailer {
  const headers = (mail: OutgoingMail) => ({ 'Auto-Submitted': 'auto-generated', 'Content-Language': mail.locale });
  const message = (mail: OutgoingMail) => ({
    from: options.from,
    to: mail.to,
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    headers: headers(mail),
  });

  if (options.smtpUrl) {
    const transport = nodemailer.createTransport({ url: options.smtpUrl, ...SMTP_TIMEOUTS });
    return {
      kind: 'smtp',
      async send(mail) {
        try {
          const info = await transport.sendMail(message(mail));
          options.logger.info({ kind: mail.kind, locale: mail.locale, messageId: info.messageId }, 'mail sent');
        } catch (err) {
          throw new MailError('the mail could not be sent', { cause: err });
        }
      },
      close: () => transport.close(),
    };
  }

  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const now = options.now ?? Date.now;
  return {
    kind: 'outbox',
    async send(mail) {
      let id: string;
      let messageId: string;
      try {
        const info = await transport.sendMail(message(mail));
        messageId = info.messageId;
        const sentAt = new Date(now()).toISOString();
        id = `${sentAt.replace(/[:.]/g, '-')}-${crypto.randomBytes(4).toString('hex')}`;
        await fs.promises.mkdir(options.outboxDir, { recursive: true });
        await fs.promises.writeFile(path.join(options.outboxDir, `${id}.eml`), info.message as Buffer);
        const entry: OutboxEntry = { id, to: mail.to, subject: mail.subject, text: mail.text, sentAt };
        await fs.promises.writeFile(path.join(options.outboxDir, `${id}.json`), JSON.stringify(entry));
      } catch (err) {
        throw new MailError('the mail could not be written to the outbox', { cause: err });
      }
      options.logger.info({ kind: mail.kind, locale: mail.locale, messageId, outboxId: id }, 'mail sent');
    },
    close: () => transport.close(),
  };
}

/** The newest outbox messages first (the development outbox page). */
export async function readOutbox(outboxDir: string, limit = 50): Promise<OutboxEntry[]> {
  let names: string[];
  try {
    names = await fs.promises.readdir(outboxDir);
  } catch {
    return [];
  }
  const newest = names.filter((n) => n.endsWith('.json')).sort().reverse().slice(0, limit);
  const entries = await Promise.all(
    newest.map(async (n) => JSON.parse(await fs.promises.readFile(path.join(outboxDir, n), 'utf8')) as OutboxEntry),
  );
  return entries;
}
