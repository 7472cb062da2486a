/**
 * Levels of assurance inside oidc-provider (DESIGN §3), through its documented interaction policy only.
 * Rules enforced here, not in page code:
 * - `acr_floor` (a login Check): a session is reused only when its method is one the client offers and
 *   its rank reaches that method's floor for this client and request; otherwise the user logs in again
 *   (step-up). It replaces oidc-provider's exact-match `essential_acr(s)` checks, since acr is a minimum;
 * - `acr_vocabulary` (a login Check that never prompts): the acr oidc-provider writes into codes and
 *   id_tokens (and, from the code, refresh tokens) is the session's `acr`. A login finishes with the
 *   rank reached (`interactionFinished`'s `login.acr`); this check writes the session's acr as that rank
 *   in the vocabulary of the request at hand (or the client's default), so a session reused by a request
 *   in another vocabulary issues the same rank in the new words. The login prompt's checks run on every
 *   authorization request and every resume before anything is issued, which is what makes this hold;
 *   test/provider/acr-vocabulary.test.ts fails if an oidc-provider upgrade changes that;
 * - so the session's acr may be written in any vocabulary: whatever reads it parses it to the rank.
 */
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { formatAcr, lookupAcr, type AcrOptions, type Rank } from '../policies/loa.js';
import { clientPolicy, requestDemand, responseVocabulary, sessionSatisfies, type ClientPolicyMetadata, type MethodCatalogue } from '../policies/client-policy.js';

/** Which login method made an account (its kind), or undefined for an unknown or deleted account. */
export type AccountMethodLookup = (accountId: string) => Promise<string | undefined>;

export function policyOf(ctx: KoaContextWithOIDC, methods: MethodCatalogue) {
  const client = (ctx.oidc.client ?? {}) as unknown as ClientPolicyMetadata;
  const params = ctx.oidc.params as { acr_values?: unknown; claims?: unknown } | undefined;
  return { policy: clientPolicy(client, methods), demand: requestDemand(params ?? {}) };
}

/** The rank a session reached, whichever vocabulary its acr is written in; undefined for an unknown value. */
function sessionRank(acr: string | undefined): Rank | undefined {
  return acr === undefined ? undefined : lookupAcr(acr)?.rank;
}

/**
 * The login policy: oidc-provider's base prompts with our two acr checks in place of its own.
 * `extraChecks` are further login Checks (such as session-policy.ts's `session_ended`), added last.
 */
export function loginInteractionPolicy(accountMethod: AccountMethodLookup, methods: MethodCatalogue, acrOptions: AcrOptions = {}, extraChecks: InstanceType<typeof interactionPolicy.Check>[] = []) {
  const { Check, base } = interactionPolicy;
  const policy = base();
  const login = policy.get('login')!;
  login.checks.remove('essential_acr');
  login.checks.remove('essential_acrs');
  login.checks.add(
    new Check('acr_floor', 'the session does not reach the level of assurance this request requires', async (ctx) => {
      const { session } = ctx.oidc;
      if (!session?.accountId) return Check.NO_NEED_TO_PROMPT; // no_session asks for a login already
      const rank = sessionRank(session.acr);
      const method = await accountMethod(session.accountId);
      if (!method || !rank) return Check.REQUEST_PROMPT;
      const { policy: clientRules, demand } = policyOf(ctx, methods);
      return sessionSatisfies(clientRules, demand, { method, rank }) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }),
  );
  login.checks.add(
    new Check('acr_vocabulary', 'never prompts: writes the session acr in the vocabulary of this request', (ctx) => {
      const { session } = ctx.oidc;
      const rank = sessionRank(session?.acr);
      if (session?.accountId && rank) {
        const { policy: clientRules, demand } = policyOf(ctx, methods);
        const written = formatAcr(rank, responseVocabulary(clientRules, demand), acrOptions);
        if (session.acr !== written) session.acr = written;
      }
      return Check.NO_NEED_TO_PROMPT;
    }),
  );
  for (const check of extraChecks) login.checks.add(check);
  return policy;
}
