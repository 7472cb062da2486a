/**
 * Looks up a message in a locale's catalogue and fills in its {placeholders}. Rules enforced here:
 * - ids are MessageIds, so an unknown id fails to compile; at run time (templates) it throws;
 * - a placeholder without a value is left as written, so a missing parameter shows up in tests instead of vanishing;
 * - the result is plain text: HTML escaping is the template engine's job.
 */
import type { Locale } from './locales.js';
import { en, type MessageId } from './messages/en.js';
import { nb } from './messages/nb.js';
import { sv } from './messages/sv.js';
import { uk } from './messages/uk.js';

export type { MessageId } from './messages/en.js';
export type Messages = Readonly<Record<MessageId, string>>;
export type MessageParams = Readonly<Record<string, string | number>>;

const catalogues: Readonly<Record<Locale, Messages>> = { en, nb, sv, uk };

export function messagesFor(locale: Locale): Messages {
  return catalogues[locale];
}

export function isMessageId(id: unknown): id is MessageId {
  return typeof id === 'string' && Object.hasOwn(en, id);
}

export function interpolate(template: string, params?: MessageParams): string {
  if (!params) return template;
  return template.replace(/\{([a-z_][a-z0-9_]*)\}/gi, (whole, name: string) =>
    Object.hasOwn(params, name) ? String(params[name]) : whole,
  );
}

export function translate(locale: Locale, id: MessageId, params?: MessageParams): string {
  if (!isMessageId(id)) throw new Error(`Unknown message id: ${String(id)}`);
  return interpolate(messagesFor(locale)[id], params);
}
