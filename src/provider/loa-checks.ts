/**
 * Levels of assurance inside oidc-provider (DESIGN §3). Rules enforced here, not in page code:
 * - `acr_floor` (a login Check): a session is reused only when its method is one the client offers and
 *   its rank reaches that method's floor for this client and request; otherwise the user logs in again
 *   (step-up). It replaces oidc-provider's exact-match `essential_acr(s)` checks, since acr is a minimum;
 * - the session keeps the rank reached (`low`, `substantial`, `high`); the `acr` oidc-provider writes into
 *   codes and tokens is that rank in the request's vocabulary, or the client's default.
 */
import Provider, { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { formatAcr, isRank, type AcrOptions, type Rank } from '../policies/loa.js';
import { clientPolicy, requestDemand, responseVocabulary, sessionSatisfies, type ClientPolicyMetadata, type MethodCatalogue } from '../policies/client-policy.js';

/** Which login method made an account (its kind), or undefined for an unknown or deleted account. */
export type AccountMethodLookup = (accountId: string) => Promise<string | undefined>;

export function policyOf(ctx: KoaContextWithOIDC, methods: MethodCatalogue) {
  const client = (ctx.oidc.client ?? {}) as unknown as ClientPolicyMetadata;
  const params = ctx.oidc.params as { acr_values?: unknown; claims?: unknown } | undefined;
  return { policy: clientPolicy(client, methods), demand: requestDemand(params ?? {}) };
}

/** `extraChecks` are further login Checks (such as session-policy.ts's `session_ended`), added last. */
export function loginInteractionPolicy(accountMethod: AccountMethodLookup, methods: MethodCatalogue, extraChecks: InstanceType<typeof interactionPolicy.Check>[] = []) {
  const { Check, base } = interactionPolicy;
  const policy = base();
  const login = policy.get('login')!;
  login.checks.remove('essential_acr');
  login.checks.remove('essential_acrs');
  login.checks.add(
    new Check('acr_floor', 'the session does not reach the level of assurance this request requires', async (ctx) => {
      const { session } = ctx.oidc;
      if (!session?.accountId) return Check.NO_NEED_TO_PROMPT; // no_session asks for a login already
      const rank = session.acr;
      const method = await accountMethod(session.accountId);
      if (!method || !isRank(rank)) return Check.REQUEST_PROMPT;
      const { policy: clientRules, demand } = policyOf(ctx, methods);
      return sessionSatisfies(clientRules, demand, { method, rank }) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }),
  );
  for (const check of extraChecks) login.checks.add(check);
  return policy;
}

/** Makes `ctx.oidc.acr` the session's rank written in the vocabulary this request speaks. */
export function installAcrVocabulary(provider: Provider, methods: MethodCatalogue, acrOptions: AcrOptions = {}): void {
  const prototype = provider.OIDCContext.prototype as object;
  Object.defineProperty(prototype, 'acr', {
    configurable: true,
    get(this: { session?: { acr?: string }; ctx: KoaContextWithOIDC }) {
      const rank = this.session?.acr;
      if (!isRank(rank)) return rank;
      const { policy, demand } = policyOf(this.ctx, methods);
      return formatAcr(rank as Rank, responseVocabulary(policy, demand), acrOptions);
    },
  });
}
