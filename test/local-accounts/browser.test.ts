/**
 * One real browser (Debian's Chromium through playwright-core) registers, verifies and logs in the way
 * a person would: it follows "Register now", finds every field by its visible label, reads the code
 * from the mail, is told which password rule it broke, lands back at the relying party, and later logs
 * in with the new account. Screenshots of each page go to $SCREENSHOT_DIR, when set, for a human look.
 * .ci/run installs Chromium; elsewhere, without /usr/bin/chromium, test/support/chromium.ts skips it.
 */
import { screenshot } from '../support/screenshots.js';
import * as oidc from 'openid-client';
import type { Browser as Chromium, Page } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { RP, startService, type RunningService } from '../support/service.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';
import { insecure } from '../support/rp.js';
import { browserDescribe, launchChromium } from '../support/chromium.js';


browserDescribe('a person registers and logs in with Chromium', () => {
  let db: TestDatabase;
  let smtp: TestSmtp;
  let server: RunningService;
  let browser: Chromium;
  let config: oidc.Configuration;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    smtp = await startSmtp();
    server = await startService({ db, env: { SMTP_URL: smtp.url } });
    config = await oidc.discovery(new URL(server.url), 'pub', { token_endpoint_auth_method: 'none' }, oidc.None(), insecure);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await smtp?.close();
    await db?.close();
  });

  /** Opens a fresh browser context at the RP's authorization request; the RP's callback is answered locally. */
  async function startAtRp(): Promise<{ page: Page; finish(): Promise<string> }> {
    const context = await browser.newContext({ locale: 'en-GB' });
    await context.route(`${RP}**`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<title>RP</title><p>Back at the RP</p>' }));
    const page = await context.newPage();
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid email profile',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    await page.goto(url.toString());
    return {
      page,
      async finish() {
        await page.waitForURL(`${RP}**`);
        const tokens = await oidc.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: state });
        await context.close();
        return tokens.claims()!.sub;
      },
    };
  }

  const shot = (page: Page, name: string) => screenshot(page, `local-${name}`);

  test('register from the login page, verify the address, choose a password, land at the RP; then log in', async () => {
    const email = 'ingrid.person@example.no';
    const rp = await startAtRp();
    const { page } = rp;
    await shot(page, '1-login');
    await page.getByRole('link', { name: 'Register now' }).click();
    await page.getByRole('heading', { name: 'Create a user account' }).waitFor();
    await page.getByLabel('E-mail address').fill(email);
    await shot(page, '2-register');
    await page.getByRole('button', { name: 'Send verification code' }).click();

    await page.getByRole('heading', { name: 'Check your e-mail' }).waitFor();
    await shot(page, '3-code');
    await page.getByLabel('Verification code').fill(smtp.codeFor(email));
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.getByRole('heading', { name: 'Choose a password and enter your name' }).waitFor();
    await page.getByLabel('Password', { exact: true }).fill('Fjord&Lights7');
    await page.getByLabel('Your full name').fill('Ingrid Person');
    await page.getByRole('button', { name: 'Create user account' }).click();
    // The broken rule is named; the name is kept.
    await page.getByRole('alert').getByText('No special characters such as @, % or &, and no spaces').waitFor();
    await shot(page, '4-password-refused');
    expect(await page.getByLabel('Your full name').inputValue()).toBe('Ingrid Person');
    await page.getByLabel('Password', { exact: true }).fill('FjordLights7');
    await page.getByRole('button', { name: 'Create user account' }).click();
    const sub = await rp.finish();

    // Later, in a fresh browser: log in with the new account.
    const again = await startAtRp();
    await again.page.getByLabel('E-mail address or username').fill(email);
    await again.page.getByLabel('Password', { exact: true }).fill('FjordLights7');
    await again.page.getByRole('button', { name: 'Log in' }).click();
    expect(await again.finish()).toBe(sub);
  });
});
