/** A relying party for tests: runs the code flow through our pages with openid-client and returns the tokens. */
import * as oidc from 'openid-client';
import { Browser } from './browser.js';
import { RP } from './service.js';

export const insecure = { execute: [oidc.allowInsecureRequests] };

export const TEST_USER = { email: 'kari@example.no', name: 'Kari Nordmann', password: 'CorrectHorse9' };

export async function discover(issuer: string, clientId: string, auth?: oidc.ClientAuth, metadata: Partial<oidc.ClientMetadata> = {}) {
  return oidc.discovery(new URL(issuer), clientId, metadata, auth, insecure);
}

/** Logs TEST_USER in on a fresh browser (consenting when asked) and redeems the code. */
export async function codeFlow(
  config: oidc.Configuration,
  origin: string,
  params: Record<string, string> = {},
  browser = new Browser(origin),
): Promise<{ tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers; browser: Browser }> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: RP,
    scope: 'openid',
    state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...params,
  });
  let page = await browser.go(url.toString());
  if (page.html.includes('name="password"')) {
    page = await browser.submit(page, /\/login$/, { email: TEST_USER.email, password: TEST_USER.password });
  }
  if (page.html.includes('/consent"')) page = await browser.submit(page, /\/consent$/, {});
  if (!page.url.startsWith(RP)) throw new Error(`login did not reach the RP: ${page.status} ${page.url}\n${page.html.slice(0, 1500)}`);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(page.url), { pkceCodeVerifier: verifier, expectedState: state });
  return { tokens, browser };
}
