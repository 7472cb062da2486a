/** How mail leaves the service: over SMTP_URL, or (development only) into the outbox folder. */
import { z } from 'zod';
import type { EnvOf } from './fields.js';

export interface MailConfig {
  mail: { smtpUrl: string | undefined; from: string };
}

export const mailEnv = {
  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL').optional(),
  MAIL_FROM: z.string().min(3).default('Nordlys ID <no-reply@localhost>'),
};

export function readMail(e: EnvOf<typeof mailEnv>): MailConfig {
  return { mail: { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM } };
}
