/**
 * Levels of assurance (DESIGN §3). Pure. Rules:
 * - one ordered scale: low < substantial < high; a higher rank satisfies a lower one;
 * - several vocabularies name the same ranks: eIDAS (`low` …), Norwegian legacy (`level3`/`Level3` =
 *   substantial, `level4`/`Level4` = high), ID-porten's (`idporten-loa-*`) and Sweden Connect's
 *   (`http://id.elegnamnden.se/loa/1.0/loa2|3|4`);
 * - `acr_values` is a minimum: the lowest recognised value is what the request demands, and unknown
 *   values are ignored (the conformance suite sends `1 2` and expects a normal login);
 * - the `acr` we issue is the reached rank written in the vocabulary (and spelling) the request used.
 */
export const RANKS = ['low', 'substantial', 'high'] as const;
export type Rank = (typeof RANKS)[number];

/** A vocabulary is a way of writing ranks; `legacy` keeps the spelling the client used. */
export type Vocabulary = 'eidas' | 'idporten' | 'legacy-lower' | 'legacy-upper' | 'swedish';
export const VOCABULARIES: readonly Vocabulary[] = ['eidas', 'idporten', 'legacy-lower', 'legacy-upper', 'swedish'];

const SWEDISH_LOA = 'http://id.elegnamnden.se/loa/1.0/loa';

const ACR_TABLE: Record<string, { rank: Rank; vocabulary: Vocabulary }> = {
  low: { rank: 'low', vocabulary: 'eidas' },
  substantial: { rank: 'substantial', vocabulary: 'eidas' },
  high: { rank: 'high', vocabulary: 'eidas' },
  level3: { rank: 'substantial', vocabulary: 'legacy-lower' },
  level4: { rank: 'high', vocabulary: 'legacy-lower' },
  Level3: { rank: 'substantial', vocabulary: 'legacy-upper' },
  Level4: { rank: 'high', vocabulary: 'legacy-upper' },
  'idporten-loa-low': { rank: 'low', vocabulary: 'idporten' },
  'idporten-loa-substantial': { rank: 'substantial', vocabulary: 'idporten' },
  'idporten-loa-high': { rank: 'high', vocabulary: 'idporten' },
  [`${SWEDISH_LOA}2`]: { rank: 'low', vocabulary: 'swedish' },
  [`${SWEDISH_LOA}3`]: { rank: 'substantial', vocabulary: 'swedish' },
  [`${SWEDISH_LOA}4`]: { rank: 'high', vocabulary: 'swedish' },
};

/** Every acr value we understand, for discovery's acr_values_supported. */
export const SUPPORTED_ACR_VALUES = Object.keys(ACR_TABLE);

export function rankValue(rank: Rank): number {
  return RANKS.indexOf(rank);
}

export function isRank(value: unknown): value is Rank {
  return typeof value === 'string' && (RANKS as readonly string[]).includes(value);
}

export function satisfies(reached: Rank, minimum: Rank): boolean {
  return rankValue(reached) >= rankValue(minimum);
}

export function maxRank(...ranks: Array<Rank | undefined>): Rank {
  return ranks.reduce<Rank>((acc, r) => (r && rankValue(r) > rankValue(acc) ? r : acc), 'low');
}

export function lookupAcr(value: string): { rank: Rank; vocabulary: Vocabulary } | undefined {
  return Object.prototype.hasOwnProperty.call(ACR_TABLE, value) ? ACR_TABLE[value] : undefined;
}

export interface AcrDemand {
  /** The lowest rank the request accepts; undefined when it named no value we know. */
  minimum: Rank | undefined;
  /** The vocabulary of the first recognised value; undefined when none was recognised. */
  vocabulary: Vocabulary | undefined;
}

/** Reads a list of acr values (from acr_values or an acr claim's values) as a minimum. */
export function parseAcrList(values: readonly string[]): AcrDemand {
  const known = values.map(lookupAcr).filter((v): v is { rank: Rank; vocabulary: Vocabulary } => v !== undefined);
  if (known.length === 0) return { minimum: undefined, vocabulary: undefined };
  const minimum = known.reduce<Rank>((acc, k) => (rankValue(k.rank) < rankValue(acc) ? k.rank : acc), 'high');
  return { minimum, vocabulary: known[0]!.vocabulary };
}

export function parseAcrValues(acrValues: string | undefined): AcrDemand {
  return parseAcrList((acrValues ?? '').split(/\s+/).filter(Boolean));
}

/** Writes a rank in a vocabulary. The legacy levels have no `low`: eIDAS `low` stands in for it. */
export function formatAcr(rank: Rank, vocabulary: Vocabulary): string {
  switch (vocabulary) {
    case 'eidas':
      return rank;
    case 'idporten':
      return `idporten-loa-${rank}`;
    case 'legacy-lower':
      return rank === 'low' ? 'low' : rank === 'substantial' ? 'level3' : 'level4';
    case 'legacy-upper':
      return rank === 'low' ? 'low' : rank === 'substantial' ? 'Level3' : 'Level4';
    case 'swedish':
      return `${SWEDISH_LOA}${rank === 'low' ? 2 : rank === 'substantial' ? 3 : 4}`;
  }
}
