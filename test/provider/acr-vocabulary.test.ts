/**
 * The acr we issue is the session's rank in the vocabulary of the request at hand (DESIGN §3), through
 * documented oidc-provider hooks only (src/provider/loa-checks.ts): the login finishes with the rank and
 * a login Check writes the session's acr in the request's words. This pins what that relies on, so an
 * oidc-provider upgrade that changes it fails here: the Check runs before a code is issued both after a
 * login and when a session is reused, and the code's acr (its id_token's, and its refresh tokens')
 * is the session's acr at that moment. One e-mail login (rank low) is reused in every vocabulary.
 */
import * as oidc from 'openid-client';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, testClients, writeClientsFile, RP, type RunningService } from '../support/service.js';
import { codeFlow, discover, TEST_USER } from '../support/rp.js';
import { Browser } from '../support/browser.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { systemClock } from '../../src/clock.js';
import type { ClientMetadata } from '../../src/provider/clients-file.js';

const SWEDISH_LOW = 'http://id.swedenconnect.se/loa/1.0/uncertified-loa2';

const clients: ClientMetadata[] = [
  ...testClients,
  {
    client_id: 'pub-idporten',
    client_name: 'Public RP speaking ID-porten',
    redirect_uris: [RP],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'none',
    scope: 'openid',
    skip_consent: true,
    acr_vocabulary: 'idporten',
  },
];

describe.each(dialects)('acr in the vocabulary of each request on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    server = await startService({ db, clientsFile: writeClientsFile(clients) });
    await createLocalAccount(db, systemClock, { email: TEST_USER.email, name: TEST_USER.name, password: TEST_USER.password });
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  const publicClient = (clientId: string) => discover(server.url, clientId, oidc.None(), { token_endpoint_auth_method: 'none' });

  /** An authorization request that the browser's session answers at once (no page shown); its tokens. */
  async function reuse(config: oidc.Configuration, browser: Browser, params: Record<string, string> = {}) {
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
    const page = await browser.go(url.toString());
    expect(page.url.startsWith(RP)).toBe(true);
    return oidc.authorizationCodeGrant(config, new URL(page.url), { pkceCodeVerifier: verifier, expectedState: state });
  }

  test('one session, one rank, written in whichever vocabulary each request (or its client) speaks', async () => {
    const pub = await publicClient('pub');
    // The login itself: the rank in the request's (eIDAS) words.
    const { tokens: login, browser } = await codeFlow(pub, server.url, { acr_values: 'low' });
    expect(login.claims()!.acr).toBe('low');
    // The session reused (so its rank read back from the words it holds) by a request in ID-porten's
    // words, then in Sweden Connect's (an essential acr claim).
    const idporten = await reuse(pub, browser, { acr_values: 'idporten-loa-low' });
    expect(idporten.claims()).toMatchObject({ acr: 'idporten-loa-low', sub: login.claims()!.sub });
    const claims = JSON.stringify({ id_token: { acr: { essential: true, values: [SWEDISH_LOW] } } });
    expect((await reuse(pub, browser, { claims })).claims()!.acr).toBe(SWEDISH_LOW);
    // No acr asked for: the client's default vocabulary, ID-porten's for one client and eIDAS for another.
    expect((await reuse(await publicClient('pub-idporten'), browser)).claims()!.acr).toBe('idporten-loa-low');
    expect((await reuse(pub, browser)).claims()!.acr).toBe('low');

    // A refresh token keeps the acr of the code it came from, whatever the session has said since.
    const refreshed = await oidc.refreshTokenGrant(pub, idporten.refresh_token!);
    expect(refreshed.claims()!.acr).toBe('idporten-loa-low');
  });

  test('a session whose acr is written in another vocabulary still does not reach a higher rank: step-up', async () => {
    const pub = await publicClient('pub');
    const browser = new Browser(server.url);
    await codeFlow(pub, server.url, { acr_values: 'idporten-loa-low' }, browser);
    const url = oidc.buildAuthorizationUrl(pub, {
      redirect_uri: RP,
      scope: 'openid',
      acr_values: 'substantial',
      prompt: 'none',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const page = await browser.go(url.toString());
    expect(new URL(page.url).searchParams.get('error')).toBe('interaction_required');
  });
});
