/**
 * ID-porten's levels, what an authorization request demands of the mock, and how a login is recorded
 * (shared/reference/ID-PORTEN.md, "Levels"). Pure. Rules:
 * - `acr_values` is a minimum; `idporten-loa-*`, the legacy `Level3`/`Level4` (either case) and the eIDAS
 *   names are understood; nothing asked, nothing recognised or low means substantial, the lowest level
 *   ID-porten's eIDs reach; the `acr` issued is always an `idporten-loa-*` value;
 * - `ui_locales` picks the first of nb, nn, en, se; default nb; the choice comes back as `locale`;
 * - the session's account id is `<pid>.<locale>`: ID-porten remembers the language of the login in its
 *   session, and findAccount needs both without a lookup. The pairwise `sub` uses the pid alone.
 */
import { EIDS, type Eid } from './persons.js';
import { isNorwegianId } from './pid.js';

export const LEVELS = ['low', 'substantial', 'high'] as const;
export type Level = (typeof LEVELS)[number];

export const ACR_VALUES_SUPPORTED = ['idporten-loa-substantial', 'idporten-loa-high'];

const UNDERSTOOD: Record<string, Level> = {
  'idporten-loa-low': 'low',
  'idporten-loa-substantial': 'substantial',
  'idporten-loa-high': 'high',
  Level3: 'substantial',
  Level4: 'high',
  level3: 'substantial',
  level4: 'high',
  low: 'low',
  substantial: 'substantial',
  high: 'high',
};

export const LOCALES = ['nb', 'nn', 'en', 'se'] as const;
export type MockLocale = (typeof LOCALES)[number];

export function atLeast(level: Level, minimum: Level): boolean {
  return LEVELS.indexOf(level) >= LEVELS.indexOf(minimum);
}

/** The level a session's stored acr stands for; an unknown value counts as the lowest. */
export function levelOfAcr(acr: unknown): Level {
  return typeof acr === 'string' && Object.hasOwn(UNDERSTOOD, acr) ? UNDERSTOOD[acr]! : 'low';
}

export function requestedMinimum(acrValues: unknown): Exclude<Level, 'low'> {
  const asked = (typeof acrValues === 'string' ? acrValues.split(/\s+/) : []).filter((v) => Object.hasOwn(UNDERSTOOD, v)).map(levelOfAcr);
  return asked.length > 0 && asked.every((level) => level === 'high') ? 'high' : 'substantial';
}

export function idportenAcr(level: Level): string {
  return `idporten-loa-${level}`;
}

/** The eIDs a person may choose for a request: those that reach its minimum. */
export function offeredEids(minimum: Level): Eid[] {
  return EIDS.filter((e) => atLeast(e.level, minimum));
}

/** One level below the minimum: what the "misbehave" outcome vouches for. */
export function levelBelow(minimum: Exclude<Level, 'low'>): Level {
  return minimum === 'high' ? 'substantial' : 'low';
}

export function pickLocale(uiLocales: unknown): MockLocale {
  const asked = typeof uiLocales === 'string' ? uiLocales.split(/\s+/) : [];
  return asked.map((l) => l.toLowerCase()).find((l): l is MockLocale => (LOCALES as readonly string[]).includes(l)) ?? 'nb';
}

export function toAccountId(pid: string, locale: MockLocale): string {
  return `${pid}.${locale}`;
}

export function fromAccountId(accountId: string): { pid: string; locale: MockLocale } | undefined {
  const match = /^(\d{11})\.([a-z]{2})$/.exec(accountId);
  if (!match || !isNorwegianId(match[1]!) || !(LOCALES as readonly string[]).includes(match[2]!)) return undefined;
  return { pid: match[1]!, locale: match[2] as MockLocale };
}
