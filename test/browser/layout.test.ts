/**
 * Layout as a person sees it in Chromium: a page with little content gets a card as tall as that content
 * (not a card stretched to the window with hundreds of pixels of empty white), and the footer still sits
 * at the bottom of the window. Checked on a desktop and a phone viewport.
 */
import type { Browser } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { browserDescribe, launchChromium } from '../support/chromium.js';

browserDescribe('page layout in Chromium', () => {
  let db: TestDatabase;
  let server: RunningService;
  let chromium: Browser;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    server = await startService({ db, env: { MOCKS_ENABLED: 'true' } });
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    await server?.close();
    await db?.close();
  });

  test.each([
    ['desktop', 1280, 900],
    ['phone', 390, 844],
  ])('a short page fits its card to the content on a %s', async (_name, width, height) => {
    const page = await chromium.newPage({ viewport: { width, height } });
    await page.goto(`${server.url}/auth?client_id=unknown-client&response_type=code&scope=openid`);
    const box = await page.locator('main.card').boundingBox();
    const lastChild = await page.locator('main.card > :last-child').boundingBox();
    const footer = await page.locator('footer.site-footer').boundingBox();
    expect(box && lastChild && footer).toBeTruthy();
    // The card ends shortly after its last element (its own padding and the element's margin).
    const emptyBelow = box!.y + box!.height - (lastChild!.y + lastChild!.height);
    expect(emptyBelow).toBeLessThan(64);
    // The footer sits at the bottom of the window, below the card.
    expect(Math.round(footer!.y + footer!.height)).toBe(height);
    expect(footer!.y).toBeGreaterThan(box!.y + box!.height);
    await page.close();
  });

  test('the mock app\'s bilingual buttons read as two lines, not columns, and its header is one line of text', async () => {
    const page = await chromium.newPage({ viewport: { width: 1000, height: 800 } });
    await page.goto(`${server.url}/mock/bankid/app`);
    const buttons = page.locator('.button.bilingual');
    expect(await buttons.count()).toBeGreaterThan(0);
    for (let i = 0; i < (await buttons.count()); i += 1) {
      const first = await buttons.nth(i).locator('span').first().boundingBox();
      const alt = await buttons.nth(i).locator('.alt').boundingBox();
      // The Swedish line starts below the English one, not beside it.
      expect(alt!.y).toBeGreaterThanOrEqual(first!.y + first!.height - 1);
    }
    const brandItems = await page.locator('.site-header .brand > *').count();
    expect(brandItems).toBe(2); // the mark and one text run
    await page.close();
  });
});
