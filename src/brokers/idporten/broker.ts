/**
 * The ID-porten broker: an OpenID Connect relying party (openid-client) of ID-porten or of our mock.
 * Rules (reference/ID-PORTEN.md): endpoints from discovery only; code flow with PKCE S256, state and
 * nonce; the required level passed upstream as `acr_values` and still checked on the id_token (a lower
 * `acr` is refused as `insufficient_level`); the account key is the `pid`, which must pass the
 * fødselsnummer/D-number check; the id_token's signature is verified against the JWKS (not only TLS);
 * a demand for a fresh login (prompt=login, max_age) goes upstream, and an answer whose `auth_time`
 * does not meet it is refused as `stale_authentication` (freshness.ts); that `auth_time` becomes ours;
 * client authentication as configured (secret or private_key_jwt);
 * every upstream call is bounded by a timeout; cancel, upstream errors and bad answers become
 * BrokerErrors the login pages can explain.
 */
import * as oidc from 'openid-client';
import { importJWK, type JWK } from 'jose';
import { BrokerError, type BrokerState, type RedirectBroker, type Requirement, type UpstreamIdentity } from '../types.js';
import { formatAcr, lookupAcr, satisfies } from '../../policies/loa.js';
import { parseNorwegianId } from '../../policies/national-id.js';
import { systemClock, type Clock } from '../../clock.js';
import { stalenessOf } from '../freshness.js';

export interface IdportenBrokerConfig {
  issuer: string;
  clientId: string;
  authMethod: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  clientSecret?: string | undefined;
  privateKey?: string | undefined;
  timeoutMs: number;
  clock?: Clock;
  /** Told how long each request to ID-porten took (`discovery`, `token`, `jwks`) and whether it answered 2xx. */
  observe?: ((call: string, seconds: number, ok: boolean) => void) | undefined;
}

const BROKER = 'idporten';
/** ID-porten speaks nb, nn, en and se (Northern Sami); our Swedish and Ukrainian users get English. */
const UPSTREAM_LOCALE: Record<string, string> = { nb: 'nb', en: 'en', sv: 'en', uk: 'en' };

async function clientAuth(config: IdportenBrokerConfig): Promise<oidc.ClientAuth> {
  if (config.authMethod === 'private_key_jwt') {
    if (!config.privateKey) throw new Error('IDPORTEN_PRIVATE_KEY is required for private_key_jwt');
    const jwk = JSON.parse(config.privateKey) as JWK;
    const key = (await importJWK(jwk, jwk.alg ?? 'RS256')) as oidc.CryptoKey;
    return oidc.PrivateKeyJwt({ key, kid: jwk.kid });
  }
  if (!config.clientSecret) throw new Error('IDPORTEN_CLIENT_SECRET is required');
  return config.authMethod === 'client_secret_post' ? oidc.ClientSecretPost(config.clientSecret) : oidc.ClientSecretBasic(config.clientSecret);
}

function upstreamError(kind: 'upstream_error' | 'timeout', err: unknown): BrokerError {
  const name = (err as { name?: string })?.name;
  const timedOut = kind === 'timeout' || name === 'TimeoutError' || name === 'AbortError';
  return new BrokerError(BROKER, timedOut ? 'timeout' : 'upstream_error', timedOut ? 'ID-porten did not answer in time' : 'ID-porten could not be reached or answered with an error', { cause: err });
}

export function createIdportenBroker(config: IdportenBrokerConfig): RedirectBroker {
  const clock = config.clock ?? systemClock;
  let discovered: Promise<oidc.Configuration> | undefined;
  let endpoints: { token?: string | undefined; jwks?: string | undefined } = {};
  const callOf = (url: string) =>
    url.includes('/.well-known/openid-configuration') ? 'discovery' : url === endpoints.token ? 'token' : url === endpoints.jwks ? 'jwks' : 'other';
  // Every request openid-client makes (discovery, token, JWKS) goes through this fetch, which times it.
  const timedFetch = async (url: string, init: RequestInit): Promise<Response> => {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const response = await fetch(url, init);
      config.observe?.(callOf(url), seconds(), response.ok);
      return response;
    } catch (err) {
      config.observe?.(callOf(url), seconds(), false);
      throw err;
    }
  };

  const configuration = (): Promise<oidc.Configuration> => {
    discovered ??= (async () => {
      // The id_token's signature is checked too: a broken or hostile answer must not pass on TLS alone.
      const options: oidc.DiscoveryRequestOptions = { timeout: Math.ceil(config.timeoutMs / 1000), execute: [oidc.enableNonRepudiationChecks], [oidc.customFetch]: timedFetch };
      // Plain http is only ever the built-in mock on this host; production config demands https.
      if (config.issuer.startsWith('http://')) options.execute!.push(oidc.allowInsecureRequests);
      const found = await oidc.discovery(new URL(config.issuer), config.clientId, { id_token_signed_response_alg: 'RS256' }, await clientAuth(config), options);
      endpoints = { token: found.serverMetadata().token_endpoint, jwks: found.serverMetadata().jwks_uri };
      return found;
    })();
    // A failed discovery is not cached: the next login tries again.
    discovered.catch(() => (discovered = undefined));
    return discovered;
  };

  return {
    id: BROKER,
    capability: 'redirect',
    reachable: ['substantial', 'high'],

    async begin(requirement: Requirement, callbackUrl: string) {
      let upstream: oidc.Configuration;
      try {
        upstream = await configuration();
      } catch (err) {
        throw upstreamError('upstream_error', err);
      }
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const { fresh } = requirement;
      const redirectTo = oidc.buildAuthorizationUrl(upstream, {
        redirect_uri: callbackUrl,
        scope: 'openid profile',
        state,
        nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        acr_values: formatAcr(requirement.minimum === 'low' ? 'substantial' : requirement.minimum, 'idporten'),
        ui_locales: UPSTREAM_LOCALE[requirement.locale] ?? 'en',
        ...(fresh?.prompt ? { prompt: 'login' } : {}),
        ...(fresh?.maxAge !== undefined ? { max_age: String(fresh.maxAge) } : {}),
      });
      // When the person was sent upstream: a login demanded fresh must have happened after this.
      const brokerState: BrokerState = { verifier, state, nonce, callbackUrl, sentAt: clock.now() };
      return { redirectTo: redirectTo.toString(), state: brokerState, stateParam: state };
    },

    async complete(callbackUrl: URL, state: BrokerState, requirement: Requirement): Promise<UpstreamIdentity> {
      const error = callbackUrl.searchParams.get('error');
      if (error === 'access_denied') throw new BrokerError(BROKER, 'cancelled', 'the person cancelled at ID-porten');
      if (error) throw new BrokerError(BROKER, 'upstream_error', `ID-porten answered ${error}`, { cause: callbackUrl.searchParams.get('error_description') });
      let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
      try {
        tokens = await oidc.authorizationCodeGrant(await configuration(), callbackUrl, {
          pkceCodeVerifier: String(state.verifier),
          expectedState: String(state.state),
          expectedNonce: String(state.nonce),
          idTokenExpected: true,
        });
      } catch (err) {
        if (err instanceof oidc.ResponseBodyError || err instanceof oidc.AuthorizationResponseError) throw upstreamError('upstream_error', err);
        if (err instanceof oidc.ClientError) throw new BrokerError(BROKER, 'invalid_response', 'the answer from ID-porten failed validation', { cause: err });
        throw upstreamError('upstream_error', err);
      }
      const claims = tokens.claims();
      if (!claims) throw new BrokerError(BROKER, 'invalid_response', 'ID-porten returned no id_token');
      const reached = typeof claims.acr === 'string' ? lookupAcr(claims.acr) : undefined;
      if (!reached) throw new BrokerError(BROKER, 'invalid_response', `unknown acr ${String(claims.acr)}`);
      const amr = Array.isArray(claims.amr) ? claims.amr.filter((a): a is string => typeof a === 'string') : [];
      if (!satisfies(reached.rank, requirement.minimum)) {
        throw new InsufficientLevelError(reached.rank, requirement.minimum, amr);
      }
      const pid = typeof claims.pid === 'string' ? parseNorwegianId(claims.pid) : undefined;
      if (!pid) throw new BrokerError(BROKER, 'invalid_response', 'the id_token has no valid pid');
      const stale = stalenessOf(requirement.fresh, claims.auth_time, Number(state.sentAt), clock.now());
      if (stale) throw new BrokerError(BROKER, 'stale_authentication', `ID-porten did not log the person in afresh: ${stale}`);
      return {
        broker: BROKER,
        subject: pid.number,
        acr: reached.rank,
        amr,
        // Never in our future: an upstream clock ahead of ours must not extend the session.
        ...(typeof claims.auth_time === 'number' ? { authTime: Math.min(claims.auth_time, Math.floor(clock.now() / 1000)) } : {}),
        claims: {
          national_id: pid.number,
          ...(pid.birthdate ? { birthdate: pid.birthdate } : {}),
          ...(typeof claims.locale === 'string' ? { locale: claims.locale } : {}),
          ...(typeof claims.name === 'string' ? { name: claims.name } : {}),
        },
      };
    },
  } satisfies RedirectBroker;
}

/** The upstream vouched for less than required: the page names the level and the eID used. */
export class InsufficientLevelError extends BrokerError {
  constructor(
    readonly reached: string,
    readonly required: string,
    readonly amr: string[],
  ) {
    super(BROKER, 'insufficient_level', `ID-porten returned ${reached}, ${required} was required`);
  }
}
