/**
 * The one list of login methods (DESIGN §1). Rules:
 * - every MethodKind has exactly one module here; the `satisfies` below makes a declared kind without
 *   an implementation (or a module under the wrong kind) a compile error;
 * - each kind's environment variables join the one validated config (src/config.ts) through BROKER_ENV,
 *   and its settings, production refusals and upstream timeouts are read through the functions below;
 * - at start-up the composition root opens the registry: every configured method, in one place that
 *   the policies, the login page, the broker flows and findAccount read (none of them names a method);
 * - method ids are unique across kinds: a configured upstream cannot take a built-in method's id.
 */
import type { MethodCatalogue } from '../policies/client-policy.js';
import type { LoginMethod, MethodKind, MethodModule, MockStandIn, OpenDeps, SettingsContext } from './method.js';
import { localMethod } from './local/method.js';
import { idportenMethod } from './idporten/method.js';
import { bankidMethod } from './bankid-se/method.js';
import { foreignEidMethod } from './foreign-eid/method.js';
import { oidcMethod } from './oidc/method.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each module is checked against its own settings type where it is written
type AnyModule<K extends MethodKind> = MethodModule<any, any> & { readonly kind: K };

const METHOD_KINDS = {
  local: localMethod,
  idporten: idportenMethod,
  'bankid-se': bankidMethod,
  'foreign-eid': foreignEidMethod,
  oidc: oidcMethod,
} as const satisfies { readonly [K in MethodKind]: AnyModule<K> };

type Kinds = typeof METHOD_KINDS;
const KINDS = Object.keys(METHOD_KINDS) as MethodKind[];

type Intersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

/** Every kind's environment variables, for the config's schema. */
export const BROKER_ENV = Object.assign({}, ...KINDS.map((kind) => METHOD_KINDS[kind].env)) as Intersection<Kinds[MethodKind]['env']>;

/** The settings of every kind, as the validated config holds them (`config.brokers`). */
export type BrokerSettings = { readonly [K in MethodKind]: ReturnType<Kinds[K]['settings']> };

const moduleOf = (kind: MethodKind): AnyModule<MethodKind> => METHOD_KINDS[kind];

/** Reads every kind's settings from the validated environment; `problems` name the variable. */
export function brokerSettings(env: Record<string, unknown>, context: SettingsContext): { settings: BrokerSettings; problems: string[] } {
  const settings = Object.fromEntries(KINDS.map((kind) => [kind, moduleOf(kind).settings(env, context)])) as unknown as BrokerSettings;
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const id of knownMethodIds(settings)) {
    if (seen.has(id)) problems.push(`login method id ${id} is taken twice: an OIDC_UPSTREAMS id must differ from every other method's`);
    seen.add(id);
  }
  return { settings, problems };
}

/** What production refuses in the brokers' settings, one line per problem. */
export function brokerRefusals(settings: BrokerSettings): string[] {
  return KINDS.flatMap((kind) => moduleOf(kind).refusals?.(settings[kind]) ?? []);
}

/** Every upstream timeout, by variable: the request deadline must exceed them all. */
export function brokerTimeouts(settings: BrokerSettings): Array<{ variable: string; ms: number }> {
  return KINDS.flatMap((kind) => moduleOf(kind).timeouts?.(settings[kind]) ?? []);
}

/** The built-in mocks the settings point at (unconfigured upstreams while mocks are on). */
export function mockStandIns(settings: BrokerSettings): MockStandIn[] {
  return KINDS.flatMap((kind) => moduleOf(kind).standIn?.(settings[kind]) ?? []);
}

export interface MethodRegistry extends MethodCatalogue {
  readonly methods: readonly LoginMethod[];
  get(id: string): LoginMethod | undefined;
  /** Whether accounts of this method come from an upstream (all but the password method's). */
  isFederated(methodId: string): boolean;
  /** The claim an account's subject is released as, for its method (undefined: never released). */
  nationalIdClaimOf(methodId: string): string | undefined;
}

/** A registry over opened methods; `known` adds the ids a client may name that are not configured here. */
export function methodRegistry(methods: readonly LoginMethod[], known: readonly string[] = []): MethodRegistry {
  const byId = new Map(methods.map((m) => [m.id, m]));
  return {
    methods,
    known: [...new Set([...known, ...byId.keys()])],
    get: (id) => byId.get(id),
    isFederated: (id) => byId.get(id)?.capability !== 'password',
    nationalIdClaimOf: (id) => byId.get(id)?.nationalIdClaim,
  };
}

/** Every method id a client may name with these settings, configured or not. */
export function knownMethodIds(settings: BrokerSettings): string[] {
  return KINDS.flatMap((kind) => moduleOf(kind).ids(settings[kind]));
}

/** Opens every configured method. */
export async function openMethods(settings: BrokerSettings, deps: OpenDeps): Promise<MethodRegistry> {
  const opened: LoginMethod[] = [];
  for (const kind of KINDS) opened.push(...(await moduleOf(kind).open(settings[kind], deps)));
  return methodRegistry(opened, knownMethodIds(settings));
}
