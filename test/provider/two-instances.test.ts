/**
 * Two instances on one database serve one login together: the authorization starts on A, the password
 * is posted to B, consent is given on A and the code is redeemed at B. Nothing lives in process memory.
 */
import * as oidc from 'openid-client';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, CONFIDENTIAL_SECRET, RP, type RunningService } from '../support/service.js';
import { Browser } from '../support/browser.js';
import { discover, TEST_USER } from '../support/rp.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { systemClock } from '../../src/clock.js';
import type { Database } from '../../src/store/db.js';

describe.each(dialects)('two instances on one %s database', (dialect) => {
  let db: TestDatabase;
  let twin: Database;
  let a: RunningService;
  let b: RunningService;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    twin = db.openTwin();
    a = await startService({ db });
    b = await startService({ db: twin, issuerPort: Number(new URL(a.url).port), clientsFile: a.config.clientsFile });
    await createLocalAccount(db, systemClock, TEST_USER);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await twin.close();
    await db.close();
  });

  test('a login begun on one instance finishes on the other', async () => {
    const config = await discover(a.url, 'conf', oidc.ClientSecretBasic(CONFIDENTIAL_SECRET));
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const authUrl = oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid email',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const onA = new Browser(a.url);
    const loginPage = await onA.go(authUrl.toString());
    expect(loginPage.html).toContain('name="password"');

    // The same browser posts the login form to instance B.
    const onB = new Browser(b.url);
    onB.adoptCookiesFrom(onA);
    const pageForB = { ...loginPage, url: loginPage.url.replace(a.url, b.url) };
    const afterLogin = await onB.submit(pageForB, /\/login$/, { email: TEST_USER.email, password: TEST_USER.password });
    // B resumes the authorization at the issuer (A), which shows consent.
    expect(afterLogin.url.startsWith(`${a.url}/auth/`)).toBe(true);
    onA.adoptCookiesFrom(onB);
    const consentPage = await onA.go(afterLogin.url);
    expect(consentPage.html).toContain('/consent"');
    const callback = await onA.submit(consentPage, /\/consent$/, {});
    expect(callback.url.startsWith(RP)).toBe(true);

    // The code is redeemed at B.
    const code = new URL(callback.url).searchParams.get('code')!;
    const res = await fetch(`${b.url}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`conf:${CONFIDENTIAL_SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: RP, code_verifier: verifier }),
    });
    expect(res.status).toBe(200);
    const tokens = (await res.json()) as { access_token: string; id_token: string };
    const userinfo = await fetch(`${a.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(await userinfo.json()).toMatchObject({ email: TEST_USER.email });
  });
});
