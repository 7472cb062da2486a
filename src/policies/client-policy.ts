/**
 * What a client allows and what a request demands (DESIGN §3). Pure. Rules:
 * - a client names the login methods it offers, a minimum level overall and per method, the acr
 *   vocabulary it speaks by default, and whether it may receive national identity numbers;
 * - a request demands a minimum through `acr_values` and through an essential `acr` claim in the raw
 *   `claims` parameter (read raw: oidc-provider drops the essential flag when both are sent);
 * - the effective floor of a method = max(client floor, method floor, requested minimum); a method is
 *   offered only when it can reach that floor;
 * - which methods exist and what each reaches is not known here: the methods registry
 *   (src/brokers/registry.ts) hands it in as a MethodCatalogue.
 */
import { isRank, maxRank, parseAcrList, parseAcrValues, satisfies, type Rank, type Vocabulary, VOCABULARIES } from './loa.js';

/** What the policies know of one login method. */
export interface MethodFacts {
  readonly id: string;
  /** The ranks it can deliver, lowest first; none for a method that only explains a refusal. */
  readonly reachable: readonly Rank[];
  /** Offered to a client that names no `login_methods` (the e-mail login). */
  readonly offeredByDefault?: boolean;
  /** Listed even when it cannot reach the floor: its page explains why it cannot be used (foreign eID). */
  readonly listedWhenUnreachable?: boolean;
}

export interface MethodCatalogue {
  /** Every method id a client may name, configured here or not. */
  readonly known: readonly string[];
  /** The methods that can be used now. */
  readonly methods: readonly MethodFacts[];
}

export interface ClientPolicy {
  methods: string[];
  minimum: Rank;
  methodMinimum: Partial<Record<string, Rank>>;
  vocabulary: Vocabulary;
  releaseNationalId: boolean;
}

/** The client metadata fields (extra to OIDC's) that carry the policy. */
export interface ClientPolicyMetadata {
  login_methods?: string[];
  min_acr?: string;
  method_min_acr?: Record<string, string>;
  acr_vocabulary?: string;
  release_national_id?: boolean;
}

/**
 * Problems with a client's policy fields, each naming its field; empty when valid. Without `known` the
 * method names are checked for shape only (a clients file read before the registry exists).
 */
export function validateClientPolicy(meta: ClientPolicyMetadata, known?: readonly string[]): string[] {
  const problems: string[] = [];
  const isKnown = (m: unknown) => typeof m === 'string' && (known ? known.includes(m) : m.length > 0);
  const knownList = known ? ` (known: ${known.join(', ')})` : '';
  if (meta.login_methods !== undefined) {
    if (!Array.isArray(meta.login_methods) || meta.login_methods.length === 0) problems.push('login_methods: must list at least one method');
    else meta.login_methods.forEach((m, i) => isKnown(m) || problems.push(`login_methods[${i}]: unknown method ${String(m)}${knownList}`));
  }
  if (meta.min_acr !== undefined && !isRank(meta.min_acr)) problems.push('min_acr: must be low, substantial or high');
  for (const [method, rank] of Object.entries(meta.method_min_acr ?? {})) {
    if (!isKnown(method)) problems.push(`method_min_acr.${method}: unknown method`);
    if (!isRank(rank)) problems.push(`method_min_acr.${method}: must be low, substantial or high`);
  }
  if (meta.acr_vocabulary !== undefined && !(VOCABULARIES as readonly string[]).includes(meta.acr_vocabulary)) {
    problems.push(`acr_vocabulary: must be one of ${VOCABULARIES.join(', ')}`);
  }
  return problems;
}

/** The policy of a client; a client without policy fields offers the default methods (e-mail accounts), at any level. */
export function clientPolicy(meta: ClientPolicyMetadata, catalogue: MethodCatalogue): ClientPolicy {
  const byDefault = catalogue.methods.filter((m) => m.offeredByDefault).map((m) => m.id);
  const methods = (meta.login_methods ?? byDefault).filter((m) => catalogue.known.includes(m));
  const methodMinimum: Partial<Record<string, Rank>> = {};
  for (const [method, rank] of Object.entries(meta.method_min_acr ?? {})) {
    if (catalogue.known.includes(method) && isRank(rank)) methodMinimum[method] = rank;
  }
  return {
    methods,
    minimum: isRank(meta.min_acr) ? meta.min_acr : 'low',
    methodMinimum,
    vocabulary: (VOCABULARIES as readonly string[]).includes(meta.acr_vocabulary ?? '') ? (meta.acr_vocabulary as Vocabulary) : 'eidas',
    releaseNationalId: meta.release_national_id === true,
  };
}

export interface RequestDemand {
  minimum: Rank | undefined;
  vocabulary: Vocabulary | undefined;
}

/** The minimum a request demands, from `acr_values` and an essential acr claim (raw `claims` JSON). */
export function requestDemand(params: { acr_values?: unknown; claims?: unknown }): RequestDemand {
  const fromValues = parseAcrValues(typeof params.acr_values === 'string' ? params.acr_values : undefined);
  const fromClaims = essentialAcrDemand(params.claims);
  const minimum = fromValues.minimum || fromClaims.minimum ? maxRank(fromValues.minimum, fromClaims.minimum) : undefined;
  return { minimum, vocabulary: fromValues.vocabulary ?? fromClaims.vocabulary };
}

function essentialAcrDemand(claims: unknown): RequestDemand {
  let parsed: unknown = claims;
  if (typeof claims === 'string') {
    try {
      parsed = JSON.parse(claims);
    } catch {
      return { minimum: undefined, vocabulary: undefined };
    }
  }
  const demands = ['id_token', 'userinfo']
    .map((where) => (parsed as Record<string, Record<string, { essential?: boolean; value?: unknown; values?: unknown }>> | undefined)?.[where]?.acr)
    .filter((acr) => acr?.essential === true)
    .map((acr) => parseAcrList([...(typeof acr!.value === 'string' ? [acr!.value] : []), ...(Array.isArray(acr!.values) ? acr!.values.filter((v): v is string => typeof v === 'string') : [])]));
  const known = demands.filter((d) => d.minimum);
  if (!known.length) return { minimum: undefined, vocabulary: undefined };
  return { minimum: maxRank(...known.map((d) => d.minimum)), vocabulary: known[0]!.vocabulary };
}

/** The floor a login with `method` must reach for this client and request. */
export function methodFloor(policy: ClientPolicy, method: string, demand: RequestDemand): Rank {
  return maxRank(policy.minimum, policy.methodMinimum[method], demand.minimum);
}

/** The vocabulary to write `acr` in: the request's, else the client's default. */
export function responseVocabulary(policy: ClientPolicy, demand: RequestDemand): Vocabulary {
  return demand.vocabulary ?? policy.vocabulary;
}

export interface OfferedMethod {
  method: string;
  floor: Rank;
}

/**
 * The methods to show on the login page: those the client offers that can be used now and reach their
 * floor, plus those listed to explain a refusal. `reachable` is false when no method can log in.
 */
export function offeredMethods(policy: ClientPolicy, demand: RequestDemand, catalogue: MethodCatalogue): { offered: OfferedMethod[]; reachable: boolean } {
  const offered: OfferedMethod[] = [];
  let reachable = false;
  for (const method of policy.methods) {
    const facts = catalogue.methods.find((m) => m.id === method);
    if (!facts) continue;
    const floor = methodFloor(policy, method, demand);
    const canReach = facts.reachable.some((r) => satisfies(r, floor));
    if (canReach) reachable = true;
    if (canReach || facts.listedWhenUnreachable) offered.push({ method, floor });
  }
  return { offered, reachable };
}

/** Whether an existing session (its method and rank) satisfies this client and request. */
export function sessionSatisfies(policy: ClientPolicy, demand: RequestDemand, session: { method: string; rank: Rank }): boolean {
  if (!policy.methods.includes(session.method)) return false;
  return satisfies(session.rank, methodFloor(policy, session.method, demand));
}
