/**
 * Builds the oidc-provider instance. Rules it configures:
 * - our own interaction pages (devInteractions off), at /interaction/:uid;
 * - authorization code only, PKCE with S256 (required for public clients; a verifier without a challenge
 *   is refused by the library), refresh tokens rotated for public clients, exact redirect URI matching;
 * - userinfo, introspection, revocation, client credentials, RP-initiated and back-channel logout, PAR,
 *   request objects, the claims parameter, DPoP, `iss` in authorization responses, pairwise subjects;
 * - first-party clients (`skip_consent`) get a grant for what they ask without a consent page.
 * - a session ends after its idle timeout or at its absolute lifetime (session-policy.ts); refresh tokens
 *   are issued to clients allowed the refresh grant, bound to the session unless offline_access was granted.
 */
import crypto from 'node:crypto';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { TokenLifetimes } from '../config/index.js';
import type { Clock } from '../clock.js';
import type { AccountRepository } from '../store/accounts.js';
import type { ResolvedSecrets } from '../store/secrets.js';
import { adapterRequestScope, type OidcAdapterClass } from '../store/oidc-adapter.js';
import { ADMIN_SCOPE } from '../policies/admin-scope.js';
import type { Renderer } from '../views/renderer.js';
import type { ClientMetadata } from './clients-file.js';
import { createFindAccount, type AccountMethods } from './find-account.js';
import { createProviderPages } from './pages.js';
import { loginInteractionPolicy } from './loa-checks.js';
import { supportedAcrValues } from '../policies/loa.js';
import { validateClientPolicy, type MethodCatalogue } from '../policies/client-policy.js';
import { postMethodSupport } from './post-methods.js';
import { CLAIMS_BY_SCOPE, SUPPORTED_SCOPES } from '../policies/claims.js';
import type { JWK } from 'jose';
import { sessionEndedCheck, sessionTtl } from './session-policy.js';
import type { SessionEndings } from '../store/session-expiry.js';
import type { SessionPolicy } from '../policies/session.js';

/** The settings the provider is built from: its issuer, lifetimes, session timeouts and acr values. */
export interface ProviderSettings {
  issuer: string;
  ttl: Omit<TokenLifetimes, 'interactionRestartSeconds'>;
  sessions: SessionPolicy;
  /** BANKID_SWEDEN_CONNECT_CERTIFIED: which Swedish loa3 value acr_values_supported lists. */
  swedenConnectCertified: boolean;
}

export interface ProviderDeps {
  settings: ProviderSettings;
  clock: Clock;
  /** The store's adapter, with the clients table behind its Client model (src/store/client-adapter.ts). */
  adapter: OidcAdapterClass;
  /** Sessions that ended by timeout, for the login Check that says why (src/store/session-expiry.ts). */
  sessionEndings: SessionEndings;
  accounts: AccountRepository;
  renderer: Renderer;
  secrets: ResolvedSecrets;
  /** Static clients (the playground's built-in ones); the rest come from the clients table. */
  clients: ClientMetadata[];
  jwks: { keys: JWK[] };
  /** The login methods (the registry, src/brokers/registry.ts): client policies, session checks, findAccount. */
  methods: MethodCatalogue & AccountMethods;
  /** Every outgoing request of the provider (back-channel logout, client JWKS): outbound/provider-fetch.ts. */
  fetch?: Configuration['fetch'];
  /** Called for every new interaction before the user is sent to it; may refuse (limits on /auth). */
  admitInteraction?: (ctx: KoaContextWithOIDC, interaction: { destroy(): Promise<void> }) => Promise<void>;
}

export { SWEDISH_PNR_SCOPE, SWEDISH_PNR_CLAIM, SUPPORTED_SCOPES } from '../policies/claims.js';

const POLICY_METADATA = ['login_methods', 'min_acr', 'method_min_acr', 'acr_vocabulary', 'release_national_id'];

async function loadOrGrantFirstParty(ctx: KoaContextWithOIDC) {
  const { client, session, result, provider } = ctx.oidc;
  if (!client || !session) return undefined;
  const grantId = (result?.consent as { grantId?: string } | undefined)?.grantId ?? session.grantIdFor(client.clientId);
  const existing = grantId ? await provider.Grant.find(grantId) : undefined;
  if (existing || !(client as unknown as { skip_consent?: boolean }).skip_consent || !session.accountId) return existing;
  // A first-party client is trusted with what it asks for: record the grant as if consented.
  const grant = new provider.Grant({ clientId: client.clientId, accountId: session.accountId });
  const scope = ctx.oidc.requestParamScopes;
  grant.addOIDCScope([...scope].join(' '));
  const claims = ctx.oidc.requestParamClaims;
  if (claims?.size) grant.addOIDCClaims([...claims]);
  await grant.save();
  return grant;
}

export function createProvider(deps: ProviderDeps): Provider {
  const { settings, clock, accounts, renderer, secrets } = deps;
  const accountMethod = async (accountId: string): Promise<string | undefined> => {
    const account = await accounts.findById(accountId);
    return account?.status === 'active' && deps.methods.known.includes(account.kind) ? account.kind : undefined;
  };
  const pages = createProviderPages(renderer);
  const sessionPolicy = settings.sessions;
  const ttl = settings.ttl;
  // POST /auth and POST /session/end need a SameSite=None (so Secure) session cookie; see post-methods.ts.
  const post = postMethodSupport(settings.issuer);

  const acrOptions = { swedenConnectCertified: settings.swedenConnectCertified };

  const configuration: Configuration = {
    adapter: deps.adapter,
    clients: deps.clients as Configuration['clients'],
    jwks: deps.jwks as Configuration['jwks'],
    findAccount: createFindAccount(accounts, deps.methods),
    acrValues: supportedAcrValues(acrOptions),
    cookies: {
      keys: secrets.cookieKeys,
      long: post.enabled ? { httpOnly: true, sameSite: 'none', secure: true, signed: true } : { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    claims: CLAIMS_BY_SCOPE,
    // nordlys:admin is granted by client credentials only to a client registered with it (src/admin/auth.ts).
    scopes: [...SUPPORTED_SCOPES, ADMIN_SCOPE],
    responseTypes: ['code'],
    // OIDC Core 3.1.2.1: redirect_uri is REQUIRED, even when the client has registered only one.
    allowOmittingSingleRegisteredRedirectUri: false,
    enableHttpPostMethods: post.enabled,
    subjectTypes: ['public', 'pairwise'],
    pairwiseIdentifier: async (_ctx, accountId, client) =>
      crypto.createHmac('sha256', secrets.pairwiseSalt).update(`${client.sectorIdentifier}\n${accountId}`).digest('base64url'),
    extraClientMetadata: {
      properties: ['skip_consent', ...POLICY_METADATA],
      validator(_ctx, key, value) {
        if ((key === 'skip_consent' || key === 'release_national_id') && value !== undefined && typeof value !== 'boolean') {
          throw new Error(`${key} must be a boolean`);
        }
        const problems = validateClientPolicy({ [key]: value }, deps.methods.known);
        if (problems.length) throw new Error(problems.join('; '));
      },
    },
    loadExistingGrant: loadOrGrantFirstParty,
    // A client allowed the refresh grant gets a refresh token bound to the session (it ends with it);
    // with offline_access the token outlives the session (oidc-provider's default expiresWithSession).
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    interactions: {
      url: async (ctx, interaction) => {
        await deps.admitInteraction?.(ctx, interaction);
        return `/interaction/${interaction.uid}`;
      },
      policy: loginInteractionPolicy(accountMethod, deps.methods, acrOptions, [sessionEndedCheck(deps.sessionEndings, sessionPolicy)]),
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // A client may introspect only tokens issued to itself (no cross-client token probing).
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      // Revoking another client's token is a silent no-op (RFC 7009 answers 200 either way).
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      claimsParameter: { enabled: true },
      pushedAuthorizationRequests: { enabled: true },
      requestObjects: { enabled: true, requireSignedRequestObject: false },
      backchannelLogout: { enabled: true },
      dPoP: { enabled: true, nonceSecret: Buffer.from(secrets.dpopNonceSecret, 'hex') },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: pages.logoutSource,
        postLogoutSuccessSource: pages.postLogoutSuccessSource,
      },
    },
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'ES256'],
      userinfoSigningAlgValues: ['RS256', 'ES256'],
      introspectionSigningAlgValues: ['RS256', 'ES256'],
      requestObjectSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    },
    ttl: {
      AccessToken: ttl.accessTokenSeconds,
      AuthorizationCode: ttl.authorizationCodeSeconds,
      ClientCredentials: ttl.accessTokenSeconds,
      IdToken: ttl.idTokenSeconds,
      Interaction: ttl.interactionSeconds,
      // Idle timeout capped by the absolute lifetime, renewed on every save (src/provider/session-policy.ts).
      Session: sessionTtl(sessionPolicy, clock),
      Grant: ttl.refreshTokenSeconds,
      RefreshToken: (ctx, token, client) =>
        // Public clients rotate their refresh tokens; keep their chains short-lived as RFC 9700 advises.
        client.clientAuthMethod === 'none' ? Math.min(ttl.refreshTokenSeconds, ttl.publicClientRefreshTokenSeconds) : ttl.refreshTokenSeconds,
    },
    renderError: pages.renderError,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  };

  const provider = new Provider(settings.issuer, configuration);
  // First: the adapter reads a token's Grant and Session with it, for this request only (store/payload-reads.ts).
  provider.use(adapterRequestScope);
  // It runs inside our app, whose trustedForwarding middleware leaves only validated X-Forwarded-*
  // headers (the issuer's scheme and host, the client address from TRUSTED_PROXIES).
  provider.proxy = true;
  return provider;
}

/** The longest any token signed by a key stays valid: how long a superseded key must stay published. */
export function maxSignedTokenSeconds(ttl: Pick<TokenLifetimes, 'idTokenSeconds' | 'accessTokenSeconds'>): number {
  return Math.max(ttl.idTokenSeconds, ttl.accessTokenSeconds, 300);
}
