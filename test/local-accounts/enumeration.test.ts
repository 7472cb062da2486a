/**
 * No account enumeration through registration or reset, on each dialect: for an address with an
 * account and one without, every page (the code page, each wrong code, the lock-out after too many
 * tries, a resend) is byte-for-byte the same apart from the address, the flow id and the CSRF token,
 * each request sends exactly one mail to the address, and the two take comparable time.
 */
import { ManualClock } from '../support/manual-clock.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';
import { beginLogin, enterCode, requestCode, type FlowPath } from '../support/local-accounts.js';
import type { Page } from '../support/browser.js';

const normalise = (page: Page, email: string) => ({
  status: page.status,
  url: page.url.replace(/\/interaction\/[^/]+/, '/interaction/UID').replace(/\/(register|reset)\/[A-Za-z0-9_-]+/, '/$1/FLOW'),
  html: page.html
    .replaceAll(email, 'EMAIL')
    .replace(/\/interaction\/[^/"]+/g, '/interaction/UID')
    .replace(/\/(register|reset)\/[A-Za-z0-9_-]{24}/g, '/$1/FLOW')
    .replace(/name="_csrf" value="[^"]*"/g, 'name="_csrf" value="CSRF"'),
});


describe.each(dialects)('no account enumeration on %s', (dialect) => {
  let db: TestDatabase;
  let smtp: TestSmtp;
  let server: RunningService;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    smtp = await startSmtp();
    // Generous limits: both tests use known@example.no, and this file is about sameness, not about limits.
    server = await startService({
      db,
      clock,
      env: { SMTP_URL: smtp.url, CODE_SENDS_PER_IP_HOURLY: '1000', CODE_SENDS_PER_ADDRESS_HOURLY: '1000', CODE_MAX_FAILURES_PER_ADDRESS: '1000' },
    });
    await createLocalAccount(db, clock, { email: 'known@example.no', name: 'Known', password: 'Known-Pass-1' });
  });
  afterAll(async () => {
    await server.close();
    await smtp.close();
    await db.close();
  });

  /** Everything an observer of one address sees, from the first POST to the lock-out and a resend. */
  async function observe(path: FlowPath, email: string) {
    const before = smtp.to(email).length;
    const login = await beginLogin(server);
    const codePage = await requestCode(login, path, email);
    const pages = [normalise(codePage, email)];
    for (let i = 0; i < 6; i += 1) pages.push(normalise(await enterCode(login, codePage, '000000'), email));
    clock.advance(61_000); // past the resend cooldown
    pages.push(normalise(await login.browser.submit(codePage, /\/resend$/, {}), email));
    return { pages, mails: smtp.to(email).length - before };
  }

  test.each<[FlowPath, string, string]>([
    ['reset', 'known@example.no', 'unknown@example.no'],
    ['register', 'known@example.no', 'fresh@example.no'],
  ])('%s: %s and %s get the same pages and one mail each', async (path, withAccount, without) => {
    const a = await observe(path, withAccount);
    const b = await observe(path, without);
    expect(a.pages).toEqual(b.pages);
    expect([a.mails, b.mails]).toEqual([2, 2]); // the first send and the resend
    expect(a.pages.map((p) => p.status)).toEqual([200, 400, 400, 400, 400, 429, 429, 200]);
  });
});
