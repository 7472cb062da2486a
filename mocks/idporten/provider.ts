/**
 * The ID-porten mock's own oidc-provider. Rules (shared/reference/ID-PORTEN.md):
 * - ID-porten's endpoint paths (/authorize, /token, /userinfo, /jwks.json, /logout, /par), `iss` in the
 *   authorization response (the library always sends it), RS256 id_tokens, a key of its own;
 * - code flow only; PKCE with S256 for every client (`plain` is refused by the library); `state` and
 *   `nonce` are mandatory: a request without one goes back to the RP as `invalid_request`;
 * - each client authenticates with the method it is registered with (client-auth.ts);
 * - `sub` is pairwise per client, derived from the pid; id_tokens carry pid, locale, acr, amr,
 *   auth_time and nonce; `sid` only for a client registered for logout (ID-porten: front-channel; here
 *   `backchannel_logout_uri` with `backchannel_logout_session_required`, the library's documented way);
 *   `profile` adds `name` only after BankID or Buypass (as Digdir documents);
 * - a session below the level a request asks for does not satisfy it (a step-up login);
 * - no consent page: ID-porten asks none for `openid`; no refresh tokens for public clients;
 * - all its state is in its own memory, aged by its own clock (memory-adapter.ts); only documented
 *   configuration and middleware (`provider.use`) shape it, no library internals.
 */
import crypto from 'node:crypto';
import Provider, { errors, interactionPolicy, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Context } from 'koa';
import type { MockLogger, Now } from '../shared/deps.js';
import type { MockPages } from '../shared/pages.js';
import type { MockKeys } from './keys.js';
import { memoryAdapter } from './memory-adapter.js';
import { ACR_VALUES_SUPPORTED, atLeast, fromAccountId, levelOfAcr, requestedMinimum } from './levels.js';
import { amrReleasesName, personByPid } from './persons.js';

export interface MockClient {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
  post_logout_redirect_uris?: string[];
  token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';
  jwks?: { keys: object[] };
  /** Where the mock sends a logout token when the person logs out; such a client gets `sid` in its id_tokens. */
  backchannel_logout_uri?: string;
}

export interface MockProviderDeps {
  issuer: string;
  /** The issuer's path without a trailing slash ('' at the root), where the interactions are. */
  basePath: string;
  now: Now;
  logger: MockLogger;
  keys: MockKeys;
  clients: MockClient[];
  view: MockPages;
  trustProxy: boolean;
}

export const ROUTES = {
  authorization: '/authorize',
  token: '/token',
  userinfo: '/userinfo',
  jwks: '/jwks.json',
  end_session: '/logout',
  pushed_authorization_request: '/par',
  revocation: '/revoke',
};

export function clientMetadata(client: MockClient): Record<string, unknown> {
  const isPublic = client.token_endpoint_auth_method === 'none';
  return {
    ...client,
    response_types: ['code'],
    grant_types: isPublic ? ['authorization_code'] : ['authorization_code', 'refresh_token'],
    id_token_signed_response_alg: 'RS256',
    subject_type: 'pairwise',
    ...(client.backchannel_logout_uri ? { backchannel_logout_session_required: true } : {}),
  };
}

const required = (name: string) => (_ctx: KoaContextWithOIDC, value: string | undefined) => {
  if (!value) throw new errors.InvalidRequest(`missing required parameter '${name}'`);
};

/**
 * A session below the request's minimum must log in again at the higher level. A login that has just
 * happened in this request counts as is: a "misbehaving" answer must reach the RP, not loop.
 */
function stepUpCheck(): interactionPolicy.Check {
  const { Check } = interactionPolicy;
  return new Check('acr_below_minimum', 'a higher level of assurance is required', 'login_required', (ctx) => {
    const { oidc } = ctx;
    if (!oidc.session?.accountId || oidc.result?.login) return Check.NO_NEED_TO_PROMPT;
    return atLeast(levelOfAcr(oidc.session.acr), requestedMinimum(oidc.params?.acr_values)) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
  });
}

export function createMockProvider(deps: MockProviderDeps): Provider {
  const { keys, view, basePath } = deps;
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(stepUpCheck());

  const configuration: Configuration = {
    adapter: memoryAdapter(deps.now),
    clients: deps.clients.map(clientMetadata) as unknown as Configuration['clients'],
    jwks: { keys: [keys.signingJwk] } as Configuration['jwks'],
    cookies: {
      keys: [keys.cookieKey],
      names: { session: '_idporten_session', interaction: '_idporten_interaction', resume: '_idporten_resume' },
      long: { httpOnly: true, sameSite: 'lax', signed: true, path: basePath || '/' },
      // The interaction and resume cookies get the library's own, narrower paths under the prefix.
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    routes: ROUTES,
    responseTypes: ['code'],
    scopes: ['openid', 'profile'],
    subjectTypes: ['pairwise'],
    acrValues: ACR_VALUES_SUPPORTED,
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    claims: {
      openid: ['sub', 'pid', 'locale', 'acr', 'amr', 'auth_time'],
      profile: ['name'],
    },
    // The `profile` claims belong in the id_token too (Digdir: "additional claims may be added to the id_token").
    conformIdTokenClaims: false,
    allowOmittingSingleRegisteredRedirectUri: false,
    extraParams: { state: required('state'), nonce: required('nonce') },
    pkce: { required: () => true },
    issueRefreshToken: async (_ctx, client) => client.clientAuthMethod !== 'none' && client.grantTypeAllowed('refresh_token'),
    async findAccount(_ctx, id, token) {
      const login = fromAccountId(id);
      if (!login) return undefined;
      const person = personByPid(login.pid);
      const amr = (token as { amr?: string[] } | undefined)?.amr;
      const name = person && amrReleasesName(amr) ? { name: person.name } : {};
      return { accountId: id, claims: () => ({ sub: id, pid: login.pid, locale: login.locale, ...name }) };
    },
    pairwiseIdentifier: async (_ctx, accountId, client) => {
      const pid = fromAccountId(accountId)?.pid ?? accountId;
      return crypto.createHmac('sha256', keys.pairwiseSalt).update(`${client.clientId}\n${pid}`).digest('base64url');
    },
    // ID-porten shows no consent page for a login: every request gets a grant for what it asks.
    async loadExistingGrant(ctx) {
      const { client, session, account, provider } = ctx.oidc;
      if (!client || !session || !account) return undefined;
      const grantId = (ctx.oidc.result?.consent as { grantId?: string } | undefined)?.grantId ?? session.grantIdFor(client.clientId);
      let grant = grantId ? await provider.Grant.find(grantId) : undefined;
      if (grant?.accountId !== account.accountId || grant.clientId !== client.clientId) {
        grant = new provider.Grant({ accountId: account.accountId, clientId: client.clientId });
      }
      grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
      await grant.save();
      return grant;
    },
    interactions: { policy, url: async (_ctx, interaction) => `${basePath}/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      revocation: { enabled: true },
      pushedAuthorizationRequests: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => view.page(ctx as unknown as Context, 200, 'logout.njk', { form, formId: 'op.logoutForm' }),
        postLogoutSuccessSource: async (ctx) => view.page(ctx as unknown as Context, 200, 'logged-out.njk', {}),
      },
    },
    // The relying parties of a mock live on this machine (tests, development): its logout tokens may
    // reach loopback, so the library's guard against private addresses is left out of its requests.
    fetch: (url, init) => {
      const { dispatcher: _guard, ...rest } = (init ?? {}) as RequestInit & { dispatcher?: unknown };
      return fetch(url, rest);
    },
    enabledJWA: { idTokenSigningAlgValues: ['RS256'], userinfoSigningAlgValues: ['RS256'] },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 1800,
      Session: 3600,
      Grant: 24 * 3600,
      RefreshToken: 24 * 3600,
    },
    async renderError(ctx, out) {
      view.page(ctx as unknown as Context, ctx.status >= 400 ? ctx.status : 400, 'error.njk', {
        detail: out.error_description ? `${out.error}: ${out.error_description}` : out.error,
      });
    },
  };

  const provider = new Provider(deps.issuer, configuration);
  provider.proxy = deps.trustProxy;
  logEvents(provider, deps.logger);
  return provider;
}

function logEvents(provider: Provider, logger: MockLogger): void {
  // The event names are the library's documented ones; its typings list only some of them.
  const emitter = provider as unknown as NodeJS.EventEmitter;
  for (const event of ['authorization.error', 'grant.error', 'userinfo.error', 'end_session.error', 'pushed_authorization_request.error']) {
    emitter.on(event, (_ctx: unknown, err: { error?: string; error_description?: string; message?: string }) =>
      logger.info({ event, error: err?.error ?? err?.message, description: err?.error_description }, 'idporten mock refused a request'),
    );
  }
  emitter.on('backchannel.error', (_ctx: unknown, err: Error, client: { clientId?: string }) =>
    logger.warn({ client: client?.clientId, error: err?.message }, 'idporten mock could not deliver a back-channel logout'),
  );
  emitter.on('server_error', (_ctx: unknown, err: Error) => logger.error({ err }, 'idporten mock server error'));
  // Koa's own error event: listening replaces its default of printing to stderr.
  emitter.on('error', (err: Error) => logger.warn({ err }, 'idporten mock error'));
}
