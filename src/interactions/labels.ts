/**
 * The text of a method's label in a language: a catalogue message, or configured text (a configured
 * upstream has no message ids). Configured text in another language than the person's falls back to
 * English, then to whichever language it was given in.
 */
import type { Locale } from '../i18n/locales.js';
import { translate } from '../i18n/translate.js';
import type { Label } from '../brokers/method.js';

export function labelText(label: Label, locale: Locale): string {
  if ('id' in label) return translate(locale, label.id);
  const { text } = label;
  if (typeof text === 'string') return text;
  return text[locale] ?? text.en ?? Object.values(text).find((t) => t !== undefined) ?? '';
}
