/**
 * An OpenID Connect relying party of one upstream (openid-client): the part the ID-porten broker and the
 * generic OIDC broker share. Rules (reference/ID-PORTEN.md, OIDC Core):
 * - endpoints from discovery only; a failed discovery is not cached, so the next login tries again;
 * - code flow with PKCE S256, state and nonce, all kept in the broker state (never in memory); the
 *   id_token's signature is checked against the JWKS, not trusted on TLS alone;
 * - client authentication as configured: a client secret (basic or post) or private_key_jwt;
 * - every request is timed (`observe`) and bounded by the timeout; plain http only for an http issuer
 *   (the built-in mock: production config demands https);
 * - the person's cancel (`access_denied`) is `cancelled`; an error answer or none at all is
 *   `upstream_error` or `timeout`; an answer that fails validation is `invalid_response`;
 * - a demand for a fresh login (prompt=login, max_age) goes upstream, and the answer's `auth_time` must
 *   meet it (freshness.ts) or the login is `stale_authentication`; that auth_time becomes ours, but
 *   never later than our now.
 */
import * as oidc from 'openid-client';
import { importJWK, type JWK } from 'jose';
import type { Clock } from '../clock.js';
import { satisfies, type Rank } from '../policies/loa.js';
import { BrokerError, levelTooLow, type BrokerState, type Requirement } from './types.js';
import type { UpstreamClient } from './method.js';
import { stalenessOf } from './freshness.js';

export type ClientAuthMethod = UpstreamClient['authMethod'];

export interface OpenIdRpConfig {
  /** The method id, for BrokerErrors. */
  broker: string;
  /** The upstream's name in log messages (pages use the method's display name). */
  upstreamName: string;
  issuer: string;
  clientId: string;
  authMethod: ClientAuthMethod;
  clientSecret?: string | undefined;
  /** A private JWK (JSON, with `kid`) for private_key_jwt. */
  privateKey?: string | undefined;
  timeoutMs: number;
  clock: Clock;
  /** Told how long each request took (`discovery`, `token`, `jwks`) and whether it answered 2xx. */
  observe?: ((call: string, seconds: number, ok: boolean) => void) | undefined;
}

export interface OpenIdRp {
  /** The authorization request, with the broker's own parameters (scope, acr_values, ui_locales …). */
  begin(requirement: Requirement, callbackUrl: string, params: Record<string, string>): Promise<{ redirectTo: string; state: BrokerState; stateParam: string }>;
  /** Redeems the code and validates the id_token; returns its claims. */
  complete(callbackUrl: URL, state: BrokerState): Promise<oidc.IDToken>;
  /**
   * The rank the answer vouches for (its `acr`, read by `rankOf`) and how the person authenticated: an
   * unknown or missing acr is `invalid_response`, one below the floor `insufficient_level`.
   */
  level(claims: oidc.IDToken, requirement: Requirement, rankOf: (acr: string) => Rank | undefined): { acr: Rank; amr: string[] };
  /** The auth_time the login gets, after checking it meets the freshness demanded. */
  freshAuthTime(requirement: Requirement, claims: oidc.IDToken, state: BrokerState): { authTime?: number };
}

async function clientAuth(config: OpenIdRpConfig): Promise<oidc.ClientAuth> {
  if (config.authMethod === 'private_key_jwt') {
    if (!config.privateKey) throw new Error(`a private key is required for private_key_jwt at ${config.upstreamName}`);
    const jwk = JSON.parse(config.privateKey) as JWK;
    const key = (await importJWK(jwk, jwk.alg ?? 'RS256')) as oidc.CryptoKey;
    return oidc.PrivateKeyJwt({ key, kid: jwk.kid });
  }
  if (!config.clientSecret) throw new Error(`a client secret is required at ${config.upstreamName}`);
  return config.authMethod === 'client_secret_post' ? oidc.ClientSecretPost(config.clientSecret) : oidc.ClientSecretBasic(config.clientSecret);
}

/** The public half of a private JWK, for the upstream's registration of our client. */
export function publicJwkOf(privateJwkJson: string): Record<string, unknown> {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, k: _k, ...publicJwk } = JSON.parse(privateJwkJson) as Record<string, unknown>;
  return publicJwk;
}

/** What the upstream must have registered for this relying party. */
export function upstreamClientOf(config: Pick<OpenIdRpConfig, 'issuer' | 'clientId' | 'authMethod' | 'clientSecret' | 'privateKey'>, redirectUri: string): UpstreamClient {
  return {
    issuer: config.issuer,
    clientId: config.clientId,
    authMethod: config.authMethod,
    ...(config.clientSecret ? { clientSecret: config.clientSecret } : {}),
    ...(config.privateKey ? { jwks: { keys: [publicJwkOf(config.privateKey)] } } : {}),
    redirectUri,
  };
}

export function createOpenIdRp(config: OpenIdRpConfig): OpenIdRp {
  const { broker, upstreamName, clock } = config;
  const upstreamError = (err: unknown): BrokerError => {
    const name = (err as { name?: string })?.name;
    const timedOut = name === 'TimeoutError' || name === 'AbortError';
    return new BrokerError(broker, timedOut ? 'timeout' : 'upstream_error', timedOut ? `${upstreamName} did not answer in time` : `${upstreamName} could not be reached or answered with an error`, { cause: err });
  };

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
      const options: oidc.DiscoveryRequestOptions = { timeout: Math.ceil(config.timeoutMs / 1000), execute: [oidc.enableNonRepudiationChecks], [oidc.customFetch]: timedFetch };
      if (config.issuer.startsWith('http://')) options.execute!.push(oidc.allowInsecureRequests);
      const found = await oidc.discovery(new URL(config.issuer), config.clientId, { id_token_signed_response_alg: 'RS256' }, await clientAuth(config), options);
      endpoints = { token: found.serverMetadata().token_endpoint, jwks: found.serverMetadata().jwks_uri };
      return found;
    })();
    discovered.catch(() => (discovered = undefined));
    return discovered;
  };

  return {
    async begin(requirement, callbackUrl, params) {
      let upstream: oidc.Configuration;
      try {
        upstream = await configuration();
      } catch (err) {
        throw upstreamError(err);
      }
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const { fresh } = requirement;
      const redirectTo = oidc.buildAuthorizationUrl(upstream, {
        redirect_uri: callbackUrl,
        state,
        nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        ...params,
        ...(fresh?.prompt ? { prompt: 'login' } : {}),
        ...(fresh?.maxAge !== undefined ? { max_age: String(fresh.maxAge) } : {}),
      });
      // When the person was sent upstream: a login demanded fresh must have happened after this.
      return { redirectTo: redirectTo.toString(), state: { verifier, state, nonce, callbackUrl, sentAt: clock.now() }, stateParam: state };
    },

    async complete(callbackUrl, state) {
      const error = callbackUrl.searchParams.get('error');
      if (error === 'access_denied') throw new BrokerError(broker, 'cancelled', `the person cancelled at ${upstreamName}`);
      if (error) throw new BrokerError(broker, 'upstream_error', `${upstreamName} answered ${error}`, { cause: callbackUrl.searchParams.get('error_description') });
      let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
      try {
        tokens = await oidc.authorizationCodeGrant(await configuration(), callbackUrl, {
          pkceCodeVerifier: String(state.verifier),
          expectedState: String(state.state),
          expectedNonce: String(state.nonce),
          idTokenExpected: true,
        });
      } catch (err) {
        if (err instanceof oidc.ClientError && !(err instanceof oidc.ResponseBodyError || err instanceof oidc.AuthorizationResponseError)) {
          throw new BrokerError(broker, 'invalid_response', `the answer from ${upstreamName} failed validation`, { cause: err });
        }
        throw upstreamError(err);
      }
      const claims = tokens.claims();
      if (!claims) throw new BrokerError(broker, 'invalid_response', `${upstreamName} returned no id_token`);
      return claims;
    },

    level(claims, requirement, rankOf) {
      const reached = typeof claims.acr === 'string' ? rankOf(claims.acr) : undefined;
      if (!reached) throw new BrokerError(broker, 'invalid_response', `unknown acr ${String(claims.acr)}`);
      const amr = amrOf(claims);
      if (!satisfies(reached, requirement.minimum)) throw levelTooLow(broker, upstreamName, { reached, required: requirement.minimum, amr });
      return { acr: reached, amr };
    },

    freshAuthTime(requirement, claims, state) {
      const stale = stalenessOf(requirement.fresh, claims.auth_time, Number(state.sentAt), clock.now());
      if (stale) throw new BrokerError(broker, 'stale_authentication', `${upstreamName} did not log the person in afresh: ${stale}`);
      // Never in our future: an upstream clock ahead of ours must not extend the session.
      return typeof claims.auth_time === 'number' ? { authTime: Math.min(claims.auth_time, Math.floor(clock.now() / 1000)) } : {};
    },
  };
}

/** How the person authenticated upstream, from the id_token's `amr`. */
function amrOf(claims: oidc.IDToken): string[] {
  return Array.isArray(claims.amr) ? claims.amr.filter((a): a is string => typeof a === 'string') : [];
}
