/**
 * The ID-porten mock's own oidc-provider. Rules (shared/reference/ID-PORTEN.md):
 * - ID-porten's endpoint paths (/authorize, /token, /userinfo, /jwks.json, /logout, /par), `iss` in the
 *   authorization response (the library always sends it), RS256 id_tokens, a key of its own;
 * - code flow only; PKCE with S256 for every client (`plain` is refused by the library); `state` and
 *   `nonce` are mandatory: a request without one goes back to the RP as `invalid_request`;
 * - each client authenticates with the method it is registered with (the library's rule);
 * - `sub` is pairwise per client, derived from the pid; id_tokens carry pid, locale, acr, amr,
 *   auth_time, nonce and sid; `profile` adds `name` only after BankID or Buypass (as Digdir documents);
 * - a session below the level a request asks for does not satisfy it (a step-up login);
 * - no consent page: ID-porten asks none for `openid`; no refresh tokens for public clients;
 * - its storage is namespaced (`MockIdporten:*`) in our tables and its cookies have their own names
 *   and paths under the mock's prefix, beside our main provider on the same host.
 */
import crypto from 'node:crypto';
import Provider, { errors, interactionPolicy, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Context } from 'koa';
import type { Clock } from '../../../clock.js';
import type { Database } from '../../../store/db.js';
import type { Logger } from '../../../logger.js';
import { createAdapterClass, type OidcAdapterClass } from '../../../store/oidc-adapter.js';
import { satisfies } from '../../../policies/loa.js';
import type { MockSecrets } from './secrets.js';
import type { MockView } from './view.js';
import { ACR_VALUES_SUPPORTED, fromAccountId, rankOfAcr, requestedMinimum } from './levels.js';
import { amrReleasesName, personByPid } from './persons.js';

export interface MockClient {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
  post_logout_redirect_uris?: string[];
  token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';
  jwks?: { keys: object[] };
}

export interface MockProviderDeps {
  issuer: string;
  /** The issuer's path without a trailing slash, e.g. `/mock/idporten`. */
  prefixPath: string;
  db: Database;
  clock: Clock;
  logger: Logger;
  secrets: MockSecrets;
  clients: MockClient[];
  view: MockView;
  trustProxy: boolean;
}

export const MODEL_PREFIX = 'MockIdporten:';

/** Our adapter, with every model name prefixed so the mock's rows never meet our provider's. */
function namespacedAdapter(db: Database, clock: Clock): OidcAdapterClass {
  const Base = createAdapterClass(db, clock);
  return class MockIdportenAdapter extends Base {
    constructor(model: string) {
      super(`${MODEL_PREFIX}${model}`);
    }
  };
}

export function clientMetadata(client: MockClient): Record<string, unknown> {
  const isPublic = client.token_endpoint_auth_method === 'none';
  return {
    ...client,
    response_types: ['code'],
    grant_types: isPublic ? ['authorization_code'] : ['authorization_code', 'refresh_token'],
    id_token_signed_response_alg: 'RS256',
    subject_type: 'pairwise',
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
    return satisfies(rankOfAcr(oidc.session.acr), requestedMinimum(oidc.params?.acr_values)) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
  });
}

export function createMockProvider(deps: MockProviderDeps): Provider {
  const { secrets, view, prefixPath } = deps;
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(stepUpCheck());

  const configuration: Configuration = {
    adapter: namespacedAdapter(deps.db, deps.clock),
    clients: deps.clients.map(clientMetadata) as unknown as Configuration['clients'],
    jwks: { keys: [secrets.signingJwk] } as Configuration['jwks'],
    cookies: {
      keys: [secrets.cookieKey],
      names: { session: '_idporten_session', interaction: '_idporten_interaction', resume: '_idporten_resume' },
      long: { httpOnly: true, sameSite: 'lax', signed: true, path: prefixPath },
      // The interaction and resume cookies get the library's own, narrower paths under the prefix.
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    routes: {
      authorization: '/authorize',
      token: '/token',
      userinfo: '/userinfo',
      jwks: '/jwks.json',
      end_session: '/logout',
      pushed_authorization_request: '/par',
      revocation: '/revoke',
    },
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
      return crypto.createHmac('sha256', secrets.pairwiseSalt).update(`${client.clientId}\n${pid}`).digest('base64url');
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
    interactions: { policy, url: async (_ctx, interaction) => `${prefixPath}/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      revocation: { enabled: true },
      pushedAuthorizationRequests: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => view.page(ctx as unknown as Context, 200, 'logout.njk', { form, formId: 'op.logoutForm' }),
        postLogoutSuccessSource: async (ctx) => view.page(ctx as unknown as Context, 200, 'logged-out.njk', {}),
      },
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
  // ID-porten puts `sid` in every id_token; the library only does for back-channel logout clients.
  provider.Client.prototype.includeSid = () => true;
  enforceRegisteredSecretMethod(provider);
  logEvents(provider, deps.logger);
  return provider;
}

const AUTHENTICATED_ROUTES = new Set(['token', 'revocation', 'introspection', 'pushed_authorization_request']);

/**
 * oidc-provider takes a client secret by either Basic or the body, whichever of the two was registered;
 * ID-porten demands the registered one. The client is checked the moment client authentication
 * identifies it (the context's `entity('Client')`), before anything is issued.
 */
function enforceRegisteredSecretMethod(provider: Provider): void {
  type OidcContext = KoaContextWithOIDC['oidc'] & { ctx: Context };
  const proto = provider.OIDCContext.prototype as unknown as { entity(this: OidcContext, key: string, value: unknown): void };
  const entity = proto.entity;
  proto.entity = function (this: OidcContext, key: string, value: unknown) {
    if (key === 'Client' && AUTHENTICATED_ROUTES.has(this.route)) {
      const registered = (value as { clientAuthMethod?: string }).clientAuthMethod;
      const used = /^basic /i.test(this.ctx.headers.authorization ?? '')
        ? 'client_secret_basic'
        : this.params?.client_secret !== undefined
          ? 'client_secret_post'
          : undefined;
      if (used && (registered === 'client_secret_basic' || registered === 'client_secret_post') && used !== registered) {
        throw new errors.InvalidClientAuth(`the client is registered for ${registered}, not ${used}`);
      }
    }
    entity.call(this, key, value);
  };
}

function logEvents(provider: Provider, logger: Logger): void {
  const emitter = provider as unknown as NodeJS.EventEmitter;
  for (const event of ['authorization.error', 'grant.error', 'userinfo.error', 'end_session.error', 'pushed_authorization_request.error']) {
    emitter.on(event, (_ctx: unknown, err: { error?: string; error_description?: string }) =>
      logger.info({ event, error: err?.error, description: err?.error_description }, 'idporten mock refused a request'),
    );
  }
  emitter.on('server_error', (_ctx: unknown, err: Error) => logger.error({ err }, 'idporten mock server error'));
  // Koa's own error event: listening replaces its default of printing to stderr.
  emitter.on('error', (err: Error) => logger.warn({ err }, 'idporten mock error'));
}
