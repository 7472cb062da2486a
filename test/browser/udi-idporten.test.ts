/**
 * The UDI example, as a person walks it in Chromium: choose ID-porten, try MinID (refused: the service
 * requires security level 4, MinID is level 3), go back, log in with BankID, land at the relying party.
 * Buttons and fields are found by their visible names and labels.
 */
import { screenshot } from '../support/screenshots.js';
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, RP, CONFIDENTIAL_SECRET, type RunningService } from '../support/service.js';
import { insecure } from '../support/rp.js';
import { eidClientsFile, KARI } from '../brokers/eid-support.js';
import { browserDescribe, launchChromium } from '../support/chromium.js';

browserDescribe('UDI My page in Chromium', () => {
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

  test('MinID is refused at level 4, BankID is accepted', async () => {
    const config = await oidc.discovery(new URL(server.url), 'udi', {}, oidc.ClientSecretBasic(CONFIDENTIAL_SECRET), insecure);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const authUrl = oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid profile pid',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });

    const context = await chromium.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    // The relying party is not running: answer its redirect URI in the browser and remember the URL.
    let callback: string | undefined;
    await page.route(`${RP}**`, async (route) => {
      callback = route.request().url();
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'relying party' });
    });

    await page.goto(authUrl.toString());
    await page.getByRole('button', { name: 'ID-porten' }).click();
    await page.getByLabel(/Kari Nordmann/).check();
    await page.getByRole('button', { name: /Misbehave/ }).click();
    await page.getByRole('heading', { name: 'This electronic ID does not have a high enough security level' }).waitFor();
    await page.getByText('This service requires security level 4 when you log in with ID-porten. You logged in with MinID, which has security level 3.').waitFor();
    await screenshot(page, 'udi-minid-refused');

    await page.getByRole('link', { name: 'Choose another way to log in' }).click();
    await page.getByRole('button', { name: 'ID-porten' }).click();
    await page.getByLabel(/Kari Nordmann/).check();
    await page.getByLabel(/^BankID:/).check();
    await page.getByRole('button', { name: /^Log in/ }).click();
    await page.waitForURL(`${RP}**`);
    await context.close();

    const tokens = await oidc.authorizationCodeGrant(config, new URL(callback!), { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()).toMatchObject({ acr: 'Level4', amr: ['BankID'] });
    expect(await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub)).toMatchObject({ pid: KARI });
  });
});
