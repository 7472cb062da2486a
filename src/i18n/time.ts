/**
 * A moment written for a person in their language ("2 December at 14:05 CET"), for pages that say when
 * something may be tried again. Rule: Norwegian time (the service's home), with the zone named so a
 * reader elsewhere is not misled.
 */
import type { Locale } from './locales.js';

const INTL_LOCALES: Record<Locale, string> = { nb: 'nb-NO', en: 'en-GB', sv: 'sv-SE', uk: 'uk-UA' };

export function formatMoment(locale: Locale, epochMs: number): string {
  return new Intl.DateTimeFormat(INTL_LOCALES[locale], {
    day: 'numeric',
    month: 'long',
    hour: '2-digit',
    minute: '2-digit',
    timeZone: 'Europe/Oslo',
    timeZoneName: 'short',
  }).format(new Date(epochMs));
}
