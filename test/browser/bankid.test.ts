/**
 * Swedish BankID as a person uses it, in Chromium: the waiting page shows an animated QR code; a tester
 * scans it with the simulated BankID app (in a second tab), identifies and approves; the waiting page,
 * polling on its own, carries the person on to the relying party, logged in.
 */
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, RP, CONFIDENTIAL_SECRET, type RunningService } from '../support/service.js';
import { insecure } from '../support/rp.js';
import { eidClientsFile } from '../brokers/eid-support.js';
import { browserDescribe, launchChromium } from '../support/chromium.js';

browserDescribe('BankID (Sweden) in Chromium', () => {
  let db: TestDatabase;
  let server: RunningService;
  let chromium: Browser;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    server = await startService({ db, clientsFile: eidClientsFile(), env: { MOCKS_ENABLED: 'true' } });
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    await server?.close();
    await db?.close();
  });

  test('shows the QR code, approves in the simulated app, and lands logged in', async () => {
    const config = await oidc.discovery(new URL(server.url), 'se', {}, oidc.ClientSecretBasic(CONFIDENTIAL_SECRET), insecure);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const authUrl = oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid profile https://id.oidc.se/scope/naturalPersonNumber',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const context = await chromium.newContext({ locale: 'sv-SE' });
    const page = await context.newPage();
    // The relying party is not running: we only need the URL the browser is sent to.
    const reachesRp = page.waitForRequest((request) => request.url().startsWith(RP), { timeout: 20_000 });
    await page.goto(authUrl.toString());
    await page.getByRole('button', { name: 'BankID (Sverige)' }).click();
    const qr = page.getByRole('img', { name: 'QR-kod att läsa av med BankID-appen' });
    await qr.locator('svg').waitFor();
    await page.getByText('Starta BankID-appen.').waitFor();
    // The QR code is animated: the page fetches new data every second.
    const first = await page.locator('#bankid-qr-data').textContent();
    await page.waitForFunction(
      (old) => (globalThis as unknown as { document: { getElementById(id: string): { textContent: string | null } | null } }).document.getElementById('bankid-qr-data')?.textContent !== old,
      first,
      { timeout: 10_000 },
    );
    await page.screenshot({ path: '/tmp/nordlys-bankid-qr.png', fullPage: true });

    const app = await context.newPage();
    await app.goto(`${server.url}/mock/bankid/app?qr=${encodeURIComponent((await page.locator('#bankid-qr-data').textContent())!)}`);
    await app.getByLabel(/Astrid Lindqvist/).check();
    await app.getByRole('button', { name: /^Identify/ }).click();
    await page.getByText('Skriv in din säkerhetskod i BankID-appen och välj Identifiera eller Skriv under.').waitFor({ timeout: 10_000 });
    await app.getByRole('button', { name: /^Approve/ }).click();

    const callback = (await reachesRp).url();
    await context.close();
    const tokens = await oidc.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()).toMatchObject({ acr: 'substantial', amr: ['BankID'] });
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub);
    expect(userinfo).toMatchObject({ 'https://id.oidc.se/claim/personalIdentityNumber': '198507099821', given_name: 'Astrid' });
  });
});
