/**
 * What an authorization request demands of the ID-porten mock, and how a login is recorded. Pure. Rules:
 * - `acr_values` is a minimum; `Level3`/`Level4`, `idporten-loa-*` and eIDAS `substantial`/`high` are all
 *   understood (src/policies/loa.ts); nothing asked, nothing recognised or `low` means substantial,
 *   the lowest level ID-porten's eIDs reach; the `acr` issued is always an `idporten-loa-*` value;
 * - `ui_locales` picks the first of nb, nn, en, se; default nb; the choice comes back as `locale`;
 * - the session's account id is `<pid>.<locale>`: ID-porten remembers the language of the login in its
 *   session, and findAccount needs both without a store lookup. The pairwise `sub` uses the pid alone.
 */
import { formatAcr, lookupAcr, parseAcrValues, satisfies, type Rank } from '../../../policies/loa.js';
import { parseNorwegianId } from '../../../policies/national-id.js';
import { EIDS, type Eid } from './persons.js';

export const LOCALES = ['nb', 'nn', 'en', 'se'] as const;
export type MockLocale = (typeof LOCALES)[number];

export const ACR_VALUES_SUPPORTED = ['idporten-loa-substantial', 'idporten-loa-high'];

export function requestedMinimum(acrValues: unknown): Exclude<Rank, 'low'> {
  const { minimum } = parseAcrValues(typeof acrValues === 'string' ? acrValues : undefined);
  return minimum === 'high' ? 'high' : 'substantial';
}

/** The rank a session's stored acr stands for; an unknown value counts as the lowest. */
export function rankOfAcr(acr: unknown): Rank {
  return (typeof acr === 'string' ? lookupAcr(acr)?.rank : undefined) ?? 'low';
}

export function idportenAcr(rank: Rank): string {
  return formatAcr(rank, 'idporten');
}

/** The eIDs a person may choose for a request: those that reach its minimum. */
export function offeredEids(minimum: Rank): Eid[] {
  return EIDS.filter((e) => satisfies(e.rank, minimum));
}

/** One rank below the minimum: what the "misbehave" outcome vouches for. */
export function rankBelow(minimum: Exclude<Rank, 'low'>): Rank {
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
  if (!match || !parseNorwegianId(match[1]!) || !(LOCALES as readonly string[]).includes(match[2]!)) return undefined;
  return { pid: match[1]!, locale: match[2] as MockLocale };
}
