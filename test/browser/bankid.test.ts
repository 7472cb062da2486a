/**
 * Swedish BankID as a person uses it, in Chromium: the waiting page's script (under the page's strict CSP)
 * swaps in a new QR code every second and the status as it changes, without reloading the page: the
 * document is the same one, the focus stays where the person put it, and the live region announces each
 * new message once. A tester scans the QR code with the simulated BankID app (a second tab), identifies
 * and approves; the page carries the person on to the relying party, logged in. The service's clock is
 * injected: the test moves it, the browser's own timers only decide when the script asks.
 */
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, RP, CONFIDENTIAL_SECRET, type RunningService } from '../support/service.js';
import { insecure } from '../support/rp.js';
import { eidClientsFile } from '../brokers/eid-support.js';
import { browserDescribe, launchChromium } from '../support/chromium.js';
import { ManualClock } from '../support/manual-clock.js';
import { PAGE_CSP } from '../../src/http/security-headers.js';
import { screenshot } from '../support/screenshots.js';

const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';

browserDescribe('BankID (Sweden) in Chromium', () => {
  let db: TestDatabase;
  let server: RunningService;
  let chromium: Browser;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    server = await startService({ db, clock, clientsFile: eidClientsFile(), env: { MOCKS_ENABLED: 'true' } });
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    await server?.close();
    await db?.close();
  });

  const authorization = async () => {
    const config = await oidc.discovery(new URL(server.url), 'se', {}, oidc.ClientSecretBasic(CONFIDENTIAL_SECRET), insecure);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid profile https://id.oidc.se/scope/naturalPersonNumber',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    return { config, verifier, state, url: url.toString() };
  };
  const inPage = <T>(page: Page, script: string) => page.evaluate(script) as Promise<T>;
  const nextStatusAnswer = (page: Page) => page.waitForResponse((r) => r.url().endsWith('/bankid/status'), { timeout: 10_000 });

  test('QR code and status change in place: same document, focus kept, status announced once; approval lands at the RP', async () => {
    const auth = await authorization();
    const context = await chromium.newContext({ locale: 'sv-SE' });
    const page = await context.newPage();
    // The relying party is not running: we only need the URL the browser is sent to.
    const reachesRp = page.waitForRequest((request) => request.url().startsWith(RP), { timeout: 20_000 });
    await page.goto(auth.url);
    const [waiting] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/bankid')), page.getByRole('button', { name: 'BankID (Sverige)' }).click()]);
    expect(waiting.headers()['content-security-policy']).toBe(PAGE_CSP);
    const qr = page.getByRole('img', { name: 'QR-kod att läsa av med BankID-appen' });
    await qr.waitFor();
    await page.getByText('Starta BankID-appen.').waitFor();
    // Desktop: the QR code comes first.
    expect((await page.locator('h2').allTextContents()).slice(0, 2)).toEqual(['BankID på en annan enhet', 'BankID på den här enheten']);
    await page.locator('summary').click();
    await screenshot(page, 'bankid-waiting-sv');

    await inPage(page, `window.__samePage = 'yes'; window.__statusChanges = 0;
      new MutationObserver(() => { window.__statusChanges += 1; }).observe(document.getElementById('bankid-status'), { childList: true, characterData: true, subtree: true });`);
    const abort = page.getByRole('button', { name: 'Avbryt inloggningen' });
    await abort.focus();
    expect(await page.locator('#bankid-status').getAttribute('aria-live')).toBe('polite');

    // A second passes on the server: the script shows the next QR code.
    const firstImage = await qr.getAttribute('src');
    const firstData = await page.locator('#bankid-qr-data').textContent();
    clock.advance(1000);
    await page.waitForFunction((old) => (globalThis as unknown as { document: { getElementById(id: string): { getAttribute(n: string): string | null } } }).document.getElementById('bankid-qr')!.getAttribute('src') !== old, firstImage, { timeout: 10_000 });
    expect(await page.locator('#bankid-qr-data').textContent()).not.toBe(firstData);
    expect(await inPage(page, 'window.__samePage')).toBe('yes');
    expect(await inPage(page, "performance.getEntriesByType('navigation').length")).toBe(1);
    expect(await inPage(page, 'document.activeElement.id')).toBe('bankid-abort');
    // Nothing new to say: the live region was not touched.
    expect(await inPage(page, 'window.__statusChanges')).toBe(0);

    const app = await context.newPage();
    await app.goto(`${server.url}/mock/bankid/app?qr=${encodeURIComponent((await page.locator('#bankid-qr-data').textContent())!)}`);
    await app.getByLabel(/Astrid Lindqvist/).check();
    await app.getByRole('button', { name: /^Identify/ }).click();
    clock.advance(2000);
    await page.getByRole('status').getByText('Skriv in din säkerhetskod i BankID-appen och välj Identifiera eller Skriv under.').waitFor({ timeout: 10_000 });
    // Several more answers with the same message: announced once, focus still where it was, same document.
    for (let i = 0; i < 3; i += 1) await nextStatusAnswer(page);
    expect(await inPage(page, 'window.__statusChanges')).toBe(1);
    expect(await inPage(page, 'document.activeElement.id')).toBe('bankid-abort');
    expect(await inPage(page, 'window.__samePage')).toBe('yes');

    await app.getByRole('button', { name: /^Approve/ }).click();
    clock.advance(2000);
    const callback = (await reachesRp).url();
    await context.close();
    const tokens = await oidc.authorizationCodeGrant(auth.config, new URL(callback), { pkceCodeVerifier: auth.verifier, expectedState: auth.state });
    expect(tokens.claims()).toMatchObject({ acr: 'substantial', amr: ['BankID'] });
    const userinfo = await oidc.fetchUserInfo(auth.config, tokens.access_token, tokens.claims()!.sub);
    expect(userinfo).toMatchObject({ 'https://id.oidc.se/claim/personalIdentityNumber': '198507099821', given_name: 'Astrid' });
  });

  test('on a phone “Open BankID on this device” comes first', async () => {
    const auth = await authorization();
    const context = await chromium.newContext({ locale: 'sv-SE', userAgent: IPHONE, viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    await page.goto(auth.url);
    await page.getByRole('button', { name: 'BankID (Sverige)' }).click();
    await page.getByRole('link', { name: 'Öppna BankID på den här enheten' }).waitFor();
    expect((await page.locator('h2').allTextContents()).slice(0, 2)).toEqual(['BankID på den här enheten', 'BankID på en annan enhet']);
    await context.close();
  });
});
