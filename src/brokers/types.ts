/**
 * The contract between the login core and an upstream identity source (DESIGN §4). Rules:
 * - a broker is a real protocol client; it turns an upstream login into an UpstreamIdentity;
 * - per-login state is returned as opaque JSON and stored with the login, never kept in memory,
 *   so any instance can take the callback or the poll;
 * - a broker passes the required minimum upstream and still checks the level it got back;
 * - failures are BrokerErrors with a kind the pages can explain (src/brokers/error-pages.ts), and the
 *   original cause for the log.
 */
import type { Rank } from '../policies/loa.js';

export interface UpstreamIdentity {
  /** The broker id, e.g. `idporten`; with `subject` it keys the federated account. */
  broker: string;
  /** The stable upstream identifier: ID-porten's pid, BankID's personnummer. */
  subject: string;
  /** The rank the upstream actually reached (checked against the requirement by the broker). */
  acr: Rank;
  /** How the person authenticated upstream, e.g. ['Minid-OTC'] or ['BankID']. */
  amr: string[];
  /** When the person authenticated upstream (epoch seconds), if the upstream says: becomes our auth_time. */
  authTime?: number;
  claims: {
    name?: string;
    given_name?: string;
    family_name?: string;
    birthdate?: string;
    /** Fødselsnummer, D-number or personnummer; released only to clients allowed to receive it. */
    national_id?: string;
    locale?: string;
  };
}

/** What the login demands of the upstream. */
export interface Requirement {
  minimum: Rank;
  /** The user's language (nb, en, sv, uk): passed upstream as far as it understands it. */
  locale: string;
  /** The relying party demanded a fresh login (`prompt=login`) or one at most `maxAge` seconds old. */
  fresh?: { prompt: boolean; maxAge?: number };
}

/** Opaque, JSON-serialisable per-login state (PKCE verifier, nonce, order reference …). */
export type BrokerState = Record<string, unknown>;

export interface RedirectBroker {
  readonly id: string;
  readonly capability: 'redirect';
  /** The ranks this upstream can deliver, lowest first. */
  readonly reachable: readonly Rank[];
  begin(requirement: Requirement, callbackUrl: string): Promise<{ redirectTo: string; state: BrokerState; stateParam: string }>;
  complete(callbackUrl: URL, state: BrokerState, requirement: Requirement): Promise<UpstreamIdentity>;
}

export type PollResult =
  | { status: 'pending'; hint: string }
  | { status: 'complete'; identity: UpstreamIdentity }
  | { status: 'failed'; reason: string };

export interface DecoupledBroker {
  readonly id: string;
  readonly capability: 'decoupled';
  readonly reachable: readonly Rank[];
  /** How often the upstream may be asked about one order, and how long one question may take. */
  readonly pollIntervalMs: number;
  readonly pollTimeoutMs: number;
  /** `orderRef` names the order upstream (polls and cancels are claimed per order). */
  begin(requirement: Requirement, endUser: { ip: string }): Promise<{ state: BrokerState; orderRef: string; display: Record<string, unknown> }>;
  poll(state: BrokerState, requirement: Requirement): Promise<PollResult>;
  cancel(state: BrokerState): Promise<void>;
}

export type Broker = RedirectBroker | DecoupledBroker;

export type BrokerErrorKind =
  /** The person cancelled upstream. */
  | 'cancelled'
  /** The upstream answered with an error, or could not be reached. */
  | 'upstream_error'
  /** The upstream did not answer in time. */
  | 'timeout'
  /** The upstream vouched for a lower level than required. */
  | 'insufficient_level'
  /** The upstream's answer failed validation (signature, nonce, state, issuer …). */
  | 'invalid_response'
  /** The upstream answered from an older login than `prompt=login` or `max_age` demanded. */
  | 'stale_authentication'
  /** The method refuses every login by design (the foreign-eID explanation). */
  | 'refused';

/** What a level refusal says: the rank reached, the rank required, and how the person authenticated. */
export interface LevelDetail {
  reached?: Rank;
  required?: Rank;
  amr?: string[];
}

export class BrokerError extends Error {
  /** For `insufficient_level`: what was reached and required (the page explains it). */
  readonly detail: LevelDetail | undefined;

  constructor(
    readonly broker: string,
    readonly kind: BrokerErrorKind,
    message: string,
    options?: { cause?: unknown; detail?: LevelDetail },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BrokerError';
    this.detail = options?.detail;
  }
}

/** The upstream vouched for less than the login requires. */
export function levelTooLow(broker: string, upstream: string, detail: Required<Pick<LevelDetail, 'reached' | 'required'>> & LevelDetail): BrokerError {
  return new BrokerError(broker, 'insufficient_level', `${upstream} returned ${detail.reached}, ${detail.required} was required`, { detail });
}
