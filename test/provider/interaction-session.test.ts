/**
 * Our interaction pages read the Interaction with the Session it was started in (store/payload-reads.ts),
 * on each dialect, through a real server: the consent page makes no separate Session lookup by uid, and a
 * session ended before the page is requested (by this instance or another) is still seen, so the page
 * is the "expired" one, as oidc-provider's own check gives. Statements are counted with knex's query
 * event, by shape (never timed).
 */
import * as oidc from 'openid-client';
import { createLocalAccount } from '../../src/cli/commands.js';
import { systemClock } from '../../src/clock.js';
import { createTestDatabase, dialects, type TestDatabase } from '../support/databases.js';
import { Browser, type Page } from '../support/browser.js';
import { discover, TEST_USER } from '../support/rp.js';
import { CONFIDENTIAL_SECRET, RP, startService, type RunningService } from '../support/service.js';

/** findByUid's statement: a lookup of oidc_payloads by (model, uid). */
const BY_UID = /from [`"]oidc_payloads[`"] where [`"]model[`"] = (\?|\$1) and [`"]uid[`"] = /;

describe.each(dialects)('interaction pages and their session on %s', (dialect) => {
  let db: TestDatabase;
  let svc: RunningService;
  let rp: oidc.Configuration;
  let accountId: string;
  const seen: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    db.knex.on('query', (q: { sql: string }) => seen.push(q.sql));
    svc = await startService({ db });
    accountId = (await createLocalAccount(db, systemClock, TEST_USER)).id;
    rp = await discover(svc.url, 'conf', oidc.ClientSecretBasic(CONFIDENTIAL_SECRET));
  });
  afterAll(async () => {
    await svc?.close();
    await db?.close();
  });

  /** A fresh browser logged in with the password, on the consent page. */
  async function consentPage(browser: Browser): Promise<Page> {
    const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: RP, scope: 'openid email', prompt: 'consent', state: oidc.randomState() });
    const login = await browser.go(url.toString());
    const consent = await browser.submit(login, /\/login$/, { email: TEST_USER.email, password: TEST_USER.password });
    expect(consent.status).toBe(200);
    expect(consent.html).toContain('/consent"');
    return consent;
  }

  test('the consent page and its POST check the session without a lookup by uid', async () => {
    const browser = new Browser(svc.url);
    const consent = await consentPage(browser);
    seen.length = 0;
    const again = await browser.go(consent.url);
    expect(again.status).toBe(200);
    expect(again.html).toContain('/consent"');
    const done = await browser.submit(again, /\/consent$/, {});
    expect(done.url.startsWith(RP)).toBe(true);
    expect(seen.filter((sql) => BY_UID.test(sql))).toEqual([]);
    // The pattern does see such a lookup when there is one.
    const Session = svc.service.provider().Session as unknown as { adapter: { findByUid(uid: string): Promise<unknown> } };
    await Session.adapter.findByUid('no-such-uid');
    expect(seen.filter((sql) => BY_UID.test(sql))).toHaveLength(1);
  });

  test.each([
    ['this instance ends it', 'adapter'],
    ['another instance deletes the row', 'table'],
  ])('a session ended before the page is seen there (%s)', async (_title, how) => {
    const browser = new Browser(svc.url);
    const consent = await consentPage(browser);
    const sessions = db.knex('oidc_payloads').where({ model: 'Session', account_id: accountId });
    if (how === 'adapter') {
      const Session = svc.service.provider().Session as unknown as { adapter: { destroy(id: string): Promise<void> } };
      for (const { id } of (await sessions.clone().select('id')) as Array<{ id: string }>) await Session.adapter.destroy(id);
    } else {
      await sessions.clone().del();
    }
    const page = await browser.go(consent.url);
    expect(page.status).toBe(410);
    const posted = await browser.submit(consent, /\/consent$/, {});
    expect(posted.status).toBe(410);
  });
});
