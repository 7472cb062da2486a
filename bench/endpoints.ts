/**
 * The endpoints the suite loads, as one request each, built the same way for our server and for the
 * bare oidc-provider from what each publishes in discovery. The tokens come from one real login on
 * each (the access token for userinfo and introspection, the refresh token for refresh); a refresh
 * token of a confidential client is not rotated, so every request may use the same one.
 */
import type * as oidc from 'openid-client';
import type { LoadRequest } from './http-load.js';

export interface EndpointTarget {
  url: string;
  metadata: oidc.ServerMetadata;
  clientId: string;
  clientSecret: string;
  accessToken: string;
  refreshToken: string | undefined;
}

/**
 * In this order, on purpose: the bare library's in-memory adapter is an LRU of 1000 entries, so the
 * endpoints that mint a token per request (refresh, then client_credentials) run last, after the ones that
 * need the login's access token still stored.
 */
export const ENDPOINTS = ['userinfo', 'introspection', 'discovery', 'JWKS', 'refresh', 'client_credentials'] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

const FORM = 'application/x-www-form-urlencoded';

export function endpointRequest(endpoint: Endpoint, target: EndpointTarget): LoadRequest {
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(target.clientId)}:${encodeURIComponent(target.clientSecret)}`).toString('base64')}`;
  const must = (value: string | undefined, what: string) => {
    if (!value) throw new Error(`${target.url} publishes no ${what}`);
    return value;
  };
  switch (endpoint) {
    case 'client_credentials':
      return { url: must(target.metadata.token_endpoint, 'token endpoint'), method: 'POST', headers: { authorization: basic, 'content-type': FORM }, body: 'grant_type=client_credentials' };
    case 'userinfo':
      return { url: must(target.metadata.userinfo_endpoint, 'userinfo endpoint'), headers: { authorization: `Bearer ${target.accessToken}` } };
    case 'introspection':
      return {
        url: must(target.metadata.introspection_endpoint, 'introspection endpoint'),
        method: 'POST',
        headers: { authorization: basic, 'content-type': FORM },
        body: new URLSearchParams({ token: target.accessToken }).toString(),
      };
    case 'discovery':
      return { url: `${target.url}/.well-known/openid-configuration` };
    case 'JWKS':
      return { url: must(target.metadata.jwks_uri, 'jwks_uri') };
    case 'refresh':
      return {
        url: must(target.metadata.token_endpoint, 'token endpoint'),
        method: 'POST',
        headers: { authorization: basic, 'content-type': FORM },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: must(target.refreshToken, 'refresh token (none was issued)') }).toString(),
      };
  }
}

/** One request, answered 200? (Before loading an endpoint: a wrong request would measure error pages.) */
export async function checkEndpoint(request: LoadRequest): Promise<string | undefined> {
  const res = await fetch(request.url, { method: request.method ?? 'GET', headers: request.headers, body: request.body, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  if (res.status === 200 && !/"active"\s*:\s*false/.test(text)) return undefined;
  return `${res.status} ${text.slice(0, 200)}`;
}
