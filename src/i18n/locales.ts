/**
 * The languages we speak and how we pick one for a request. Rules enforced here:
 * - ui_locales (OIDC: a space-separated list in order of preference) wins over Accept-Language;
 * - Accept-Language is ordered by q-value (stable for equal q); q=0 and "*" never choose a language;
 * - Norwegian in any form (no, nb, nn, with or without a region) gets bokmål, the only written Norwegian we have;
 * - a tag we do not speak moves on to the next candidate; when none is left, defaultLocale.
 * Pure: the caller reads the query parameter and the header.
 */

export const supportedLocales = ['nb', 'en', 'sv', 'uk'] as const;
export type Locale = (typeof supportedLocales)[number];
export const defaultLocale: Locale = 'en';

/** A hostile header must not make us do much work: only this many candidates are looked at. */
const maxCandidates = 32;

const byPrimarySubtag: Readonly<Record<string, Locale>> = {
  nb: 'nb',
  no: 'nb',
  nn: 'nb',
  en: 'en',
  sv: 'sv',
  uk: 'uk',
};

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (supportedLocales as readonly string[]).includes(value);
}

/** Maps one BCP 47 tag (any case, "-" or "_") to a supported locale, or undefined. */
export function localeForTag(tag: string): Locale | undefined {
  const primary = tag.trim().toLowerCase().split(/[-_]/, 1)[0] ?? '';
  return Object.hasOwn(byPrimarySubtag, primary) ? byPrimarySubtag[primary] : undefined;
}

function parseUiLocales(value: string): string[] {
  return value.split(/\s+/).filter((tag) => tag.length > 0).slice(0, maxCandidates);
}

function parseAcceptLanguage(value: string): string[] {
  const entries: Array<{ tag: string; q: number; index: number }> = [];
  value
    .split(',')
    .slice(0, maxCandidates)
    .forEach((part, index) => {
      const [rawTag = '', ...rawParams] = part.split(';');
      const tag = rawTag.trim();
      if (tag === '' || tag === '*') return;
      let q = 1;
      for (const param of rawParams) {
        const match = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(param);
        if (match) q = Number(match[1]);
      }
      if (!Number.isFinite(q) || q <= 0) return;
      entries.push({ tag, q, index });
    });
  return entries.sort((a, b) => b.q - a.q || a.index - b.index).map((entry) => entry.tag);
}

export function negotiateLocale(input: {
  uiLocales?: string | undefined;
  acceptLanguage?: string | undefined;
}): Locale {
  const candidates = [
    ...(input.uiLocales ? parseUiLocales(input.uiLocales) : []),
    ...(input.acceptLanguage ? parseAcceptLanguage(input.acceptLanguage) : []),
  ];
  for (const tag of candidates) {
    const locale = localeForTag(tag);
    if (locale) return locale;
  }
  return defaultLocale;
}
