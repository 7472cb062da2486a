/**
 * The playground as a relying party of this provider, through openid-client (v6) over HTTP to its
 * own issuer URL only. Rules:
 * - the built-in public client authenticates with nothing (PKCE), the confidential one with its
 *   server-side secret; configured clients are never used here (their callbacks are not ours);
 * - PAR and signed request objects use openid-client's own builders (JAR signed with the playground key);
 * - the token request actually sent is captured so the page can show it as curl, secrets elided;
 * - id_token signatures are checked against the provider's JWKS (openid-client relies on TLS instead),
 *   and the page says which key signed;
 * - a back-channel logout token is accepted only when signed by the provider for one of our clients;
 * - every call has a timeout; a provider that does not answer is an error the page shows.
 */
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { PLAYGROUND_CONFIDENTIAL, type PlaygroundKeys } from './clients.js';

const TIMEOUT_SECONDS = 10;

export interface CapturedRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface SignatureCheck {
  valid: boolean;
  kid?: string;
  alg?: string;
  kty?: string;
  problem?: string;
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signature: SignatureCheck;
}

export interface OAuthProblem {
  error: string;
  description?: string;
}

/** Turns what openid-client throws into the error the server (or the network) gave. */
export function problemOf(err: unknown): OAuthProblem {
  const e = err as { error?: unknown; error_description?: unknown; code?: unknown; message?: unknown; cause?: { error?: unknown; error_description?: unknown } };
  if (typeof e.error === 'string') return { error: e.error, ...(typeof e.error_description === 'string' ? { description: e.error_description } : {}) };
  if (e.cause && typeof e.cause.error === 'string') return { error: e.cause.error, ...(typeof e.cause.error_description === 'string' ? { description: e.cause.error_description } : {}) };
  return { error: 'playground_request_failed', description: typeof e.message === 'string' ? e.message : String(err) };
}

export function createRelyingParty(issuer: string, keys: PlaygroundKeys) {
  const execute = issuer.startsWith('http://') ? [oidc.allowInsecureRequests] : [];

  async function configFor(clientId: string, capture?: CapturedRequest[]): Promise<oidc.Configuration> {
    const auth = clientId === PLAYGROUND_CONFIDENTIAL ? oidc.ClientSecretBasic(keys.clientSecret) : oidc.None();
    const config = await oidc.discovery(new URL(issuer), clientId, undefined, auth, { execute, timeout: TIMEOUT_SECONDS });
    config.timeout = TIMEOUT_SECONDS;
    if (capture) {
      config[oidc.customFetch] = async (url, options) => {
        const headers = Object.fromEntries(Object.entries(options.headers).map(([k, v]) => [k.toLowerCase(), v]));
        capture.push({ url, headers, body: typeof options.body === 'string' ? options.body : options.body instanceof URLSearchParams ? options.body.toString() : '' });
        return fetch(url, options as Parameters<typeof fetch>[1]);
      };
    }
    return config;
  }

  async function serverMetadata(): Promise<oidc.ServerMetadata> {
    return (await configFor('playground')).serverMetadata();
  }

  /** The provider's published keys, fetched each time: rotation shows at once. */
  async function jwks(): Promise<jose.JSONWebKeySet> {
    const res = await fetch((await serverMetadata()).jwks_uri!, { signal: AbortSignal.timeout(TIMEOUT_SECONDS * 1000) });
    return (await res.json()) as jose.JSONWebKeySet;
  }

  return {
    serverMetadata,

    async authorizationUrl(clientId: string, params: Record<string, string>, mode: { par: boolean; jar: boolean }): Promise<URL> {
      const config = await configFor(clientId);
      let request: Record<string, string> | URLSearchParams = params;
      if (mode.jar) {
        const key = (await jose.importJWK(keys.requestKey, 'ES256')) as oidc.CryptoKey;
        const signed = await oidc.buildAuthorizationUrlWithJAR(config, params, { key, kid: keys.requestKey.kid });
        if (!mode.par) return signed;
        request = signed.searchParams;
      }
      return mode.par ? oidc.buildAuthorizationUrlWithPAR(config, request) : oidc.buildAuthorizationUrl(config, request);
    },

    /** Redeems the code from the callback; returns the token response and the token request as sent. */
    async redeem(clientId: string, callbackUrl: URL, checks: { state: string; nonce: string; verifier: string }) {
      const captured: CapturedRequest[] = [];
      const config = await configFor(clientId, captured);
      const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: checks.verifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      });
      return { tokens, request: captured.find((c) => c.body.includes('grant_type=')) };
    },

    async refresh(clientId: string, refreshToken: string) {
      const captured: CapturedRequest[] = [];
      const tokens = await oidc.refreshTokenGrant(await configFor(clientId, captured), refreshToken);
      return { tokens, request: captured.find((c) => c.body.includes('grant_type=')) };
    },

    async introspect(clientId: string, token: string) {
      return oidc.tokenIntrospection(await configFor(clientId), token);
    },

    async revoke(clientId: string, token: string) {
      await oidc.tokenRevocation(await configFor(clientId), token);
    },

    async userinfo(clientId: string, accessToken: string, sub: string) {
      return oidc.fetchUserInfo(await configFor(clientId), accessToken, sub);
    },

    async endSessionUrl(clientId: string, params: Record<string, string>): Promise<URL> {
      return oidc.buildEndSessionUrl(await configFor(clientId), params);
    },

    /** A back-channel logout token (OIDC Back-Channel Logout 2.4): signed by us, for one of ours, with a sid. */
    async verifyLogoutToken(token: string, audiences: string[]): Promise<{ sid: string; iat: number } | undefined> {
      try {
        const { payload } = await jose.jwtVerify(token, jose.createLocalJWKSet(await jwks()), { issuer, audience: audiences, typ: 'logout+jwt' });
        const events = payload.events as Record<string, unknown> | undefined;
        if (!events || typeof events['http://schemas.openid.net/event/backchannel-logout'] !== 'object' || 'nonce' in payload) return undefined;
        return typeof payload.sid === 'string' && typeof payload.iat === 'number' ? { sid: payload.sid, iat: payload.iat } : undefined;
      } catch {
        return undefined;
      }
    },

    /** Decodes a JWT and checks its signature against the provider's JWKS. */
    async decode(token: string): Promise<DecodedJwt | undefined> {
      let header: Record<string, unknown>;
      let claims: Record<string, unknown>;
      try {
        header = jose.decodeProtectedHeader(token) as Record<string, unknown>;
        claims = jose.decodeJwt(token) as Record<string, unknown>;
      } catch {
        return undefined; // an opaque token
      }
      const signature: SignatureCheck = { valid: false, ...(typeof header.kid === 'string' ? { kid: header.kid } : {}), ...(typeof header.alg === 'string' ? { alg: header.alg } : {}) };
      try {
        const keys = await jwks();
        const result = await jose.compactVerify(token, jose.createLocalJWKSet(keys));
        signature.valid = true;
        signature.kty = keys.keys.find((k) => k.kid === result.protectedHeader.kid)?.kty;
      } catch (err) {
        signature.problem = err instanceof Error ? err.message : String(err);
      }
      return { header, claims, signature };
    },
  };
}

export type RelyingParty = ReturnType<typeof createRelyingParty>;

/** The token request as a curl command: the code, verifier, refresh token and credentials elided. */
export function curlFor(request: CapturedRequest | undefined): string | undefined {
  if (!request) return undefined;
  const secretParams = new Set(['code', 'code_verifier', 'refresh_token', 'client_secret', 'client_assertion']);
  const lines = [`curl -s ${JSON.stringify(request.url)}`];
  for (const [name, value] of Object.entries(request.headers)) {
    if (['content-type', 'accept', 'user-agent', 'content-length'].includes(name)) continue;
    const shown = name === 'authorization' ? `${value.split(' ')[0]} …` : name === 'dpop' ? '…' : value;
    lines.push(`  -H ${JSON.stringify(`${name}: ${shown}`)}`);
  }
  for (const [name, value] of new URLSearchParams(request.body)) {
    lines.push(`  -d ${JSON.stringify(`${name}=${secretParams.has(name) ? '…' : value}`)}`);
  }
  return lines.join(' \\\n');
}
