/**
 * Levels of assurance (DESIGN §3). Pure. Rules:
 * - one ordered scale: low < substantial < high; a higher rank satisfies a lower one;
 * - several vocabularies name the same ranks: eIDAS (`low` …), Norwegian legacy (`level3`/`Level3` =
 *   substantial, `level4`/`Level4` = high), ID-porten's (`idporten-loa-*`) and Sweden Connect's
 *   (`http://id.elegnamnden.se/loa/1.0/loa2|3|4`, and the self-declared
 *   `http://id.swedenconnect.se/loa/1.0/uncertified-loa2|3`);
 * - Sweden Connect's `loa2|3|4` say the identity provider itself is certified. We write them only when
 *   the operator declares that certification (BANKID_SWEDEN_CONNECT_CERTIFIED); otherwise the Swedish
 *   vocabulary writes `uncertified-loa2|3`, eIDAS `high` stands in for high (there is no uncertified
 *   loa4), and discovery lists only the Swedish values we may issue. Either spelling is understood in a
 *   request, as the rank it names;
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
/** Sweden Connect's identifiers for self-declared (not certified) compliance with a level. */
const SWEDISH_UNCERTIFIED = 'http://id.swedenconnect.se/loa/1.0/uncertified-loa';

/** What the operator declares about this service, which decides the values we may issue. */
export interface AcrOptions {
  /** This service is a certified Sweden Connect identity provider (BANKID_SWEDEN_CONNECT_CERTIFIED). */
  swedenConnectCertified?: boolean;
}

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
  [`${SWEDISH_UNCERTIFIED}2`]: { rank: 'low', vocabulary: 'swedish' },
  [`${SWEDISH_UNCERTIFIED}3`]: { rank: 'substantial', vocabulary: 'swedish' },
};

/** The acr values for discovery's acr_values_supported: every one we understand and may issue. */
export function supportedAcrValues(options: AcrOptions = {}): string[] {
  const notOurs = options.swedenConnectCertified ? SWEDISH_UNCERTIFIED : SWEDISH_LOA;
  return Object.keys(ACR_TABLE).filter((value) => !value.startsWith(notOurs));
}

/** acr_values_supported of a service that declares no certification (the default). */
export const SUPPORTED_ACR_VALUES = supportedAcrValues();

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

/**
 * Writes a rank in a vocabulary. The legacy levels have no `low`: eIDAS `low` stands in for it. The
 * Swedish vocabulary is honest about certification (see the header): uncertified unless declared.
 */
export function formatAcr(rank: Rank, vocabulary: Vocabulary, options: AcrOptions = {}): string {
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
      if (options.swedenConnectCertified) return `${SWEDISH_LOA}${rank === 'low' ? 2 : rank === 'substantial' ? 3 : 4}`;
      return rank === 'high' ? 'high' : `${SWEDISH_UNCERTIFIED}${rank === 'low' ? 2 : 3}`;
  }
}
