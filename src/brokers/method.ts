/**
 * What a login method's folder declares (DESIGN §1): the contract between a method and the core that
 * runs it. Rules:
 * - a method is its id, its display name and hints (message ids, or configured text for an upstream
 *   that has none), the ranks it reaches, its capability, the pages its errors lead to, and how its
 *   subject is released; the core reads nothing else about it;
 * - a method *kind* (one folder) owns its part of the environment (a zod shape composed into the one
 *   config), turns it into settings, says what production refuses in them, and opens its methods: none
 *   when it is not configured, one per configured upstream for `oidc`;
 * - no kind knows the store, our pages or the mocks: what it needs comes in as `OpenDeps`.
 */
import type { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Locale } from '../i18n/locales.js';
import type { MessageId } from '../i18n/translate.js';
import type { MethodFacts } from '../policies/client-policy.js';
import type { Rank } from '../policies/loa.js';
import type { BrokerError, BrokerErrorKind, BrokerState, DecoupledBroker, LevelDetail, RedirectBroker } from './types.js';

/** Every kind of login method this build implements; src/brokers/registry.ts must implement each. */
export type MethodKind = 'local' | 'idporten' | 'bankid-se' | 'foreign-eid' | 'oidc';

/** Configured text: one string for every language, or one per language. */
export type LocalisedText = string | Readonly<Partial<Record<Locale, string>>>;

/** Text shown to people: a catalogue message, or configured text (a configured upstream has no ids). */
export type Label = { readonly id: MessageId } | { readonly text: LocalisedText };

/** Why a failed login counts as a refusal in the metrics; none when it was the person's own choice. */
export type Refusal = 'level_too_low' | 'foreign_eid' | 'upstream_error';

/** The page one kind of failure leads to (src/brokers/error-pages.ts has the defaults). */
export interface ErrorPage {
  view: string;
  status: number;
  titleId?: MessageId;
  messageId?: MessageId;
  hintId?: MessageId;
  helpId?: MessageId;
  refusal?: Refusal;
  /** The audit event's reason, when it is not the failure's kind. */
  auditReason?: string;
}

export type ErrorPages = Readonly<Record<BrokerErrorKind, ErrorPage>>;

/** Everything the core knows about one method, whatever its capability. */
export interface MethodDefinition extends MethodFacts {
  readonly kind: MethodKind;
  readonly displayName: Label;
  /** The hint under its button, for the rank the login must reach. */
  hint(floor: Rank): Label;
  readonly errors: ErrorPages;
  /** Further {placeholders} of its error pages, from a level refusal's detail. */
  errorParams?(detail: LevelDetail | undefined): Record<string, string>;
  /** The claim its subject (a national identity number) is released as, to clients allowed to receive one. */
  readonly nationalIdClaim?: string;
}

/** What an upstream must have registered for us: the mocks are told it, a real upstream's operator does it. */
export interface UpstreamClient {
  issuer: string;
  clientId: string;
  authMethod: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  clientSecret?: string | undefined;
  /** The public half of our private_key_jwt key. */
  jwks?: { keys: Array<Record<string, unknown>> } | undefined;
  redirectUri: string;
}

/** How the waiting page of a decoupled method (BankID) shows an order. */
export interface DecoupledPage {
  /** The page's path under /interaction/:uid, e.g. `bankid`, and its template. */
  path: string;
  view: string;
  /** What the page shows this second (BankID: the animated QR code's data). */
  show(state: BrokerState): { qr?: string };
  /** Where "on this device" goes (the app's start link). */
  sameDeviceUrl(state: BrokerState, device: { handheld: boolean }): string;
  /** The message while the order is pending; `hint` is undefined before the upstream has said anything. */
  pendingMessage(hint: string | undefined, view: { mode: string; handheld: boolean }): MessageId;
  /** An order the upstream ended: the message, and whether the person ended it (no refusal of ours). */
  failed(reason: string, mode: string): { messageId: MessageId; byPerson: boolean };
  errorMessage(err: BrokerError): MessageId;
}

export type PasswordMethod = MethodDefinition & { readonly capability: 'password' };
export type RedirectMethod = MethodDefinition & { readonly capability: 'redirect'; readonly broker: RedirectBroker; readonly upstreamClient?: UpstreamClient };
export type DecoupledMethod = MethodDefinition & { readonly capability: 'decoupled'; readonly broker: DecoupledBroker; readonly page: DecoupledPage };
export type LoginMethod = PasswordMethod | RedirectMethod | DecoupledMethod;

/** What opening a method may use: nothing of the store or the pages, only these. */
export interface OpenDeps {
  clock: Clock;
  /** The one URL an upstream returns to for `methodId`. */
  callbackUrl(methodId: string): string;
  /** Told how long each upstream request took (metrics, labelled by kind). */
  observe(kind: MethodKind, call: string, seconds: number, ok: boolean): void;
  /** A development secret kept in the store and generated once (a client secret for a built-in mock). */
  storedSecret(name: string): Promise<string>;
}

/** What the settings of a kind may depend on besides its own variables. */
export interface SettingsContext {
  /** Our issuer: a built-in mock lives under it. */
  issuer: string;
  mocksEnabled: boolean;
}

/** The built-in mock a kind points at when it is not configured and mocks are on. */
export interface MockStandIn {
  mock: 'idporten' | 'bankid-se';
  url: string;
}

/** One folder's method kind. */
export interface MethodModule<Env extends z.ZodRawShape, Settings> {
  readonly kind: MethodKind;
  /** Its environment variables, validated with the rest of the config (src/config.ts). */
  readonly env: Env;
  settings(env: z.infer<z.ZodObject<Env>>, context: SettingsContext): Settings;
  /** The ids of the methods these settings declare, configured or not (what a client may name). */
  ids(settings: Settings): string[];
  /** What production refuses in these settings: one line per problem, naming the variable. */
  refusals?(settings: Settings): string[];
  /** The upstream timeouts the request deadline must exceed, by variable. */
  timeouts?(settings: Settings): Array<{ variable: string; ms: number }>;
  standIn?(settings: Settings): MockStandIn | undefined;
  /** Its methods with these settings: none when it is not configured. */
  open(settings: Settings, deps: OpenDeps): Promise<LoginMethod[]>;
}

/** The one URL an upstream returns to after a redirect login. */
export function callbackUrlFor(issuer: string, methodId: string): string {
  return `${issuer}/broker/${methodId}/callback`;
}
