/**
 * The playground's scenarios as an integrator runs them in Chromium, with the mocks: each scenario is
 * started from its named button, the person clicks through our login pages and the ID-porten mock as
 * the scenario page says, and the result page shows the decoded claims, compared with what we expect.
 * Buttons and fields are found by their visible names; nothing is faked.
 */
import { screenshot } from '../support/screenshots.js';
import type { Browser, Page } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { eidClientsFile, KARI } from '../brokers/eid-support.js';
import { browserDescribe, launchChromium } from '../support/chromium.js';

browserDescribe('the playground in Chromium', () => {
  let db: TestDatabase;
  let server: RunningService;
  let chromium: Browser;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    server = await startService({ db, clientsFile: eidClientsFile(), env: { MOCKS_ENABLED: 'true', PLAYGROUND_ENABLED: 'true' } });
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    await server?.close();
    await db?.close();
  });

  async function startScenario(page: Page, title: string): Promise<void> {
    await page.goto(`${server.url}/playground`);
    await page.getByRole('button', { name: title }).click();
    await page.getByRole('heading', { level: 1, name: title }).waitFor();
  }

  /** Our login page → ID-porten → the mock: Kari, the given eID (or an outcome button). */
  async function throughIdporten(page: Page, choice: { eid: RegExp } | { button: RegExp }): Promise<void> {
    await page.getByRole('button', { name: 'ID-porten' }).click();
    await page.getByLabel(/Kari Nordmann/).check();
    if ('eid' in choice) {
      await page.getByLabel(choice.eid).check();
      await page.getByRole('button', { name: /^Log in/ }).click();
    } else {
      await page.getByRole('button', { name: choice.button }).click();
    }
  }

  const claim = (page: Page, name: string) => page.locator(`#id-token tr[data-claim="${name}"] .claim-value`).textContent();

  async function verdict(page: Page, scenarioId: string): Promise<string | null> {
    await page.waitForURL(`${server.url}/playground/scenario/${scenarioId}`);
    return page.locator('#scenario-verdict').getAttribute('data-matches');
  }

  test('UDI My page: MinID is refused at level 4, with the explanation, and the RP gets access_denied', async () => {
    const context = await chromium.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    await startScenario(page, 'UDI My page: MinID is refused at level 4');
    await page.getByRole('button', { name: 'Run step 1' }).click();
    // Level 4 leaves only ID-porten (no e-mail form); the mock hides MinID, "Misbehave" answers as MinID.
    await expect(page.getByLabel('E-mail address').count()).resolves.toBe(0);
    await throughIdporten(page, { button: /Misbehave/ });
    await page.getByRole('heading', { name: 'This electronic ID does not have a high enough security level' }).waitFor();
    await page.getByText('This service requires security level 4 when you log in with ID-porten. You logged in with MinID, which has security level 3.').waitFor();
    await page.getByRole('button', { name: 'Cancel and go back to the service' }).click();

    expect(await verdict(page, 'udi-minid-refused')).toBe('yes');
    await expect(page.locator('.scenario-actual').textContent()).resolves.toBe('error=access_denied');
    await page.getByRole('link', { name: 'See the full result of the last step' }).click();
    await expect(page.locator('#error-code').textContent()).resolves.toBe('access_denied');
    await page.getByText('The person cancelled, or gave up after a refusal').waitFor();
    await context.close();
  });

  test('UDI My page: BankID at level 4 gives acr Level4 and releases pid', async () => {
    const context = await chromium.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    await startScenario(page, 'UDI My page: BankID at level 4');
    await page.getByRole('button', { name: 'Run step 1' }).click();
    await throughIdporten(page, { eid: /^BankID:/ });

    expect(await verdict(page, 'udi-bankid-level4')).toBe('yes');
    await page.getByRole('link', { name: 'See the full result of the last step' }).click();
    await expect(claim(page, 'acr')).resolves.toBe('Level4');
    await expect(claim(page, 'amr')).resolves.toBe('["BankID"]');
    await expect(page.locator('#id-token tr[data-claim="acr"]').textContent()).resolves.toContain('Asked for: Level4');
    await expect(page.locator('#id-token [data-signature]').getAttribute('data-signature')).resolves.toBe('valid');
    const userinfo = JSON.parse((await page.locator('#userinfo').textContent())!) as Record<string, unknown>;
    expect(userinfo.pid).toBe(KARI);
    await screenshot(page, 'playground-bankid-level4');
    await context.close();
  });

  test('Step-up from substantial to high: MinID first, then BankID for the same account', async () => {
    const context = await chromium.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    await startScenario(page, 'Step-up from substantial to high');
    await page.getByRole('button', { name: 'Run step 1' }).click();
    await throughIdporten(page, { eid: /^MinID:/ });
    await page.waitForURL(`${server.url}/playground/scenario/step-up`);
    await expect(page.locator('[data-step="1"] .scenario-actual').textContent()).resolves.toMatch(/^acr=substantial, amr=Minid-OTC/);

    await page.getByRole('button', { name: 'Run step 2' }).click();
    // The session is at substantial: the provider asks for a new login instead of answering at once.
    await throughIdporten(page, { eid: /^BankID:/ });
    expect(await verdict(page, 'step-up')).toBe('yes');
    await expect(page.locator('[data-step="2"] .scenario-actual').textContent()).resolves.toMatch(/^acr=high, amr=BankID/);
    await page.getByRole('link', { name: 'See the full result of the last step' }).click();
    await expect(claim(page, 'acr')).resolves.toBe('high');
    await expect(claim(page, 'amr')).resolves.toBe('["BankID"]');
    await context.close();
  });
});
