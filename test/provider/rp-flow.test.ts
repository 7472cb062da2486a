/**
 * A relying party (openid-client) runs the authorization code flow against a real server, through our
 * own login and consent pages, on each dialect: confidential and public (PKCE) clients, userinfo,
 * refresh (rotated for public clients), introspection, revocation, RP-initiated logout, pairwise
 * subjects, client credentials and PAR.
 */
import * as oidc from 'openid-client';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, CONFIDENTIAL_SECRET, RP, type RunningService } from '../support/service.js';
import { Browser } from '../support/browser.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { systemClock } from '../../src/clock.js';

const insecure = { execute: [oidc.allowInsecureRequests] };

describe.each(dialects)('relying-party flows on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;
  let accountId: string;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    server = await startService({ db });
    const account = await createLocalAccount(db, systemClock, { email: 'Kari@Example.no', name: 'Kari Nordmann', password: 'CorrectHorse9' });
    accountId = account.id;
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  const discover = (clientId: string, auth?: oidc.ClientAuth, metadata: Partial<oidc.ClientMetadata> = {}) =>
    oidc.discovery(new URL(server.url), clientId, metadata, auth, insecure);

  async function login(browser: Browser, authUrl: URL, consent = true) {
    let page = await browser.go(authUrl.toString());
    expect(page.status).toBe(200);
    expect(page.html).toContain('name="password"');
    page = await browser.submit(page, /\/login$/, { email: 'kari@example.no', password: 'CorrectHorse9' });
    if (consent) {
      expect(page.status).toBe(200);
      expect(page.html).toMatch(/consent/);
      page = await browser.submit(page, /\/consent$/, {});
    }
    expect(page.url.startsWith(RP)).toBe(true);
    return new URL(page.url);
  }

  test('confidential client: login, consent, tokens, userinfo, refresh, introspect, revoke, logout', async () => {
    const config = await discover('conf', oidc.ClientSecretBasic(CONFIDENTIAL_SECRET));
    const browser = new Browser(server.url);
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const verifier = oidc.randomPKCECodeVerifier();
    const authUrl = oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid email profile offline_access',
      prompt: 'consent',
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const callback = await login(browser, authUrl);
    expect(callback.searchParams.get('iss')).toBe(server.url);

    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    const claims = tokens.claims()!;
    expect(claims.sub).toBe(accountId);
    expect(claims.amr).toEqual(['pwd']);
    expect(tokens.refresh_token).toBeDefined();

    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, accountId);
    expect(userinfo).toMatchObject({ sub: accountId, email: 'kari@example.no', email_verified: true, name: 'Kari Nordmann' });

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed.claims()!.sub).toBe(accountId);

    const active = await oidc.tokenIntrospection(config, refreshed.access_token);
    expect(active).toMatchObject({ active: true, sub: accountId, client_id: 'conf' });

    await oidc.tokenRevocation(config, refreshed.access_token);
    expect((await oidc.tokenIntrospection(config, refreshed.access_token)).active).toBe(false);

    // RP-initiated logout: our confirmation page, then back to the registered post-logout URI.
    const endSession = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://127.0.0.1:8999/logged-out', state: 'bye' });
    const confirm = await browser.go(endSession.toString());
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain('op.logoutForm');
    const after = await browser.submit(confirm, /session\/end\/confirm/, { logout: 'yes' });
    expect(after.url).toBe('http://127.0.0.1:8999/logged-out?state=bye');
    // The session is gone: a new authorization request asks for the password again.
    const again = await browser.go(authUrl.toString());
    expect(again.html).toContain('name="password"');
  });

  test('public client with PKCE and first-party skip of consent; refresh tokens rotate', async () => {
    const config = await discover('pub', oidc.None(), { token_endpoint_auth_method: 'none' });
    const browser = new Browser(server.url);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const authUrl = oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid email offline_access',
      prompt: 'consent',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const callback = await login(browser, authUrl, false);
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()!.sub).toBe(accountId);
    const first = tokens.refresh_token!;
    const rotated = await oidc.refreshTokenGrant(config, first);
    expect(rotated.refresh_token).toBeDefined();
    expect(rotated.refresh_token).not.toBe(first);
    // The old refresh token is spent: reusing it fails (and revokes the grant, RFC 9700 §4.14).
    await expect(oidc.refreshTokenGrant(config, first)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  test('pairwise client gets a different, stable sub', async () => {
    const config = await discover('pairwise', oidc.ClientSecretBasic(CONFIDENTIAL_SECRET));
    const subs: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const browser = new Browser(server.url);
      const verifier = oidc.randomPKCECodeVerifier();
      const authUrl = oidc.buildAuthorizationUrl(config, {
        redirect_uri: RP,
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const callback = await login(browser, authUrl, false);
      const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier });
      subs.push(tokens.claims()!.sub);
    }
    expect(subs[0]).toBe(subs[1]);
    expect(subs[0]).not.toBe(accountId);
  });

  test('client credentials grant', async () => {
    const config = await discover('machine', oidc.ClientSecretBasic(CONFIDENTIAL_SECRET));
    const tokens = await oidc.clientCredentialsGrant(config);
    expect(tokens.access_token).toBeDefined();
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(true);
  });

  test('pushed authorization request', async () => {
    const config = await discover('conf', oidc.ClientSecretBasic(CONFIDENTIAL_SECRET));
    const verifier = oidc.randomPKCECodeVerifier();
    const authUrl = await oidc.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: RP,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    expect(authUrl.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    const callback = await login(new Browser(server.url), authUrl);
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier });
    expect(tokens.claims()!.sub).toBe(accountId);
  });
});
