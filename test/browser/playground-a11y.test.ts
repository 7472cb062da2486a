/**
 * The playground's pages in Chromium: axe finds no WCAG 2.1 A/AA violations on the builder (in every
 * language), a prepared request, a scenario (also the idle scenario's "not matching yet" state) and a
 * result; a person can run a request and use the result page's buttons with the keyboard alone; on a
 * phone-sized screen nothing scrolls sideways.
 */
import { screenshot } from '../support/screenshots.js';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { TEST_USER } from '../support/rp.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { systemClock } from '../../src/clock.js';
import { eidClientsFile } from '../brokers/eid-support.js';
import { browserDescribe, launchChromium } from '../support/chromium.js';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

interface AxeViolation {
  id: string;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/** Runs axe in the page (injected as a test tool: the page's own CSP stays strict for everything else). */
async function violations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const found = (await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }).then((r) => r.violations)`)) as AxeViolation[];
  return found.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

/** Presses Tab until the element with this accessible text has focus (bounded), then Enter. */
async function tabTo(page: Page, text: string): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate('document.activeElement ? document.activeElement.textContent.trim() : ""');
    if (focused === text) {
      await page.keyboard.press('Enter');
      return;
    }
  }
  throw new Error(`"${text}" cannot be reached with the Tab key`);
}

const scrollsSideways = (page: Page) => page.evaluate('document.documentElement.scrollWidth > window.innerWidth');

browserDescribe('the playground is accessible', () => {
  let db: TestDatabase;
  let server: RunningService;
  let chromium: Browser;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    server = await startService({ db, clientsFile: eidClientsFile(), env: { MOCKS_ENABLED: 'true', PLAYGROUND_ENABLED: 'true' } });
    await createLocalAccount(db, systemClock, TEST_USER);
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    await server?.close();
    await db?.close();
  });

  test('axe-clean pages, in every language, and usable with the keyboard alone', async () => {
    const context = await chromium.newContext({ locale: 'en-GB', bypassCSP: true });
    const page = await context.newPage();
    // axe itself works here: a page with an unlabelled image and no language is not clean.
    await page.setContent('<html><body><img src="x.png"></body></html>');
    expect((await violations(page)).join('\n')).toMatch(/image-alt[\s\S]*html-has-lang|html-has-lang[\s\S]*image-alt/);
    for (const lang of ['nb', 'sv', 'uk', 'en']) {
      await page.goto(`${server.url}/playground?lang=${lang}`);
      await expect(page.locator('html').getAttribute('lang')).resolves.toBe(lang);
      expect([lang, await violations(page)]).toEqual([lang, []]);
    }
    await page.getByLabel('Client').selectOption('playground-confidential');
    await page.getByRole('button', { name: 'Show the request' }).click();
    await page.getByRole('heading', { name: 'The authorization request' }).waitFor();
    expect(await violations(page)).toEqual([]);

    // Keyboard only: from the prepared request to the login page, then through the result's buttons.
    await tabTo(page, 'Open this request');
    await page.waitForURL(/\/interaction\//);
    await page.getByLabel('E-mail address').fill(TEST_USER.email);
    await page.getByLabel('Password').fill(TEST_USER.password);
    await page.getByLabel('Password').press('Enter');
    await page.waitForURL(`${server.url}/playground/result`);
    expect(await violations(page)).toEqual([]);
    await tabTo(page, 'Introspect');
    await page.locator('[data-action="introspect"][data-ok="yes"]').waitFor();
    await tabTo(page, 'Refresh');
    await page.locator('[data-action="refresh"][data-ok="yes"]').waitFor();
    expect(await violations(page)).toEqual([]);

    await page.goto(`${server.url}/playground`);
    await tabTo(page, 'Step-up from substantial to high');
    await page.getByRole('heading', { level: 1, name: 'Step-up from substantial to high' }).waitFor();
    expect(await violations(page)).toEqual([]);

    // The idle scenario, checked at once: its "not matching yet" note, and the buttons it adds.
    await page.goto(`${server.url}/playground`);
    await page.getByRole('button', { name: 'Inactive for 30 minutes' }).click();
    await page.getByRole('button', { name: 'Run step 1' }).click();
    await page.getByLabel('E-mail address').fill(TEST_USER.email);
    await page.getByLabel('Password').fill(TEST_USER.password);
    await page.getByLabel('Password').press('Enter');
    await page.waitForURL(`${server.url}/playground/scenario/inactive`);
    expect(await violations(page)).toEqual([]);
    await tabTo(page, 'Check now');
    await page.locator('[data-step-matches="not-yet"]').waitFor();
    expect(await violations(page)).toEqual([]);
    await context.close();
  });

  test('readable on a phone: no sideways scrolling on the builder, a prepared request and a result', async () => {
    const context = await chromium.newContext({ locale: 'en-GB', viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    await page.goto(`${server.url}/playground`);
    expect(await scrollsSideways(page)).toBe(false);
    await page.getByRole('button', { name: 'Run the request' }).click();
    await page.getByLabel('E-mail address').fill(TEST_USER.email);
    await page.getByLabel('Password').fill(TEST_USER.password);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.waitForURL(`${server.url}/playground/result`);
    expect(await scrollsSideways(page)).toBe(false);
    await screenshot(page, 'playground-phone-result');
    await page.goto(`${server.url}/playground`);
    await page.getByRole('button', { name: 'Show the request' }).click();
    await page.getByRole('heading', { name: 'The authorization request' }).waitFor();
    expect(await scrollsSideways(page)).toBe(false);
    await context.close();
  });
});
