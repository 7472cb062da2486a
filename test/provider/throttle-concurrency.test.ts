/**
 * Failed logins are all counted under concurrency (issue 8), on each dialect: 50 wrong passwords for
 * one account posted at once, half to each of two instances on one database. With five free failures
 * exactly six are checked (the sixth starts the delay) and 44 are refused with 429 before any password
 * is checked; the account's counter holds six and the IP address's, whose hits for refused attempts are
 * taken back, holds six too: no hit and no refund lost. The clock is injected and does not move. The
 * attempts come from one public address behind a trusted proxy (loopback itself has no per-IP limit).
 */
import { ManualClock } from '../support/manual-clock.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { beginLogin } from '../support/local-accounts.js';
import { Racer } from '../support/racer.js';
import type { Browser } from '../support/browser.js';
import type { Database } from '../../src/store/db.js';

const RACERS = 50;
const FREE_FAILURES = 5;
const CLIENT_ADDRESS = '203.0.113.9';

const cookiesOf = (browser: Browser, path: string): string => (browser as unknown as { cookieHeader(p: string): string }).cookieHeader(path);
const decode = (s: string) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'");

describe.each(dialects)('failed logins counted under concurrency on %s', (dialect) => {
  let db: TestDatabase;
  let twin: Database;
  let a: RunningService;
  let b: RunningService;
  const clock = new ManualClock(Date.now());
  const racer = new Racer(RACERS);

  beforeAll(async () => {
    db = await createTestDatabase(dialect, { poolMax: 20 });
    twin = db.openTwin();
    const env = { LOGIN_FREE_FAILURES: String(FREE_FAILURES), TRUSTED_PROXIES: 'loopback' };
    a = await startService({ db, clock, env });
    b = await startService({ db: twin, clock, env, issuerPort: Number(new URL(a.url).port), clientsFile: a.config.clientsFile });
  });
  afterAll(async () => {
    racer.close();
    await a.close();
    await b.close();
    await twin.close();
    await db.close();
  });

  test(`${RACERS} simultaneous wrong passwords: ${FREE_FAILURES + 1} checked, the rest refused, every hit counted`, async () => {
    const account = await createLocalAccount(db, clock, { email: 'race@example.no', name: 'Race', password: 'Right-Pass-1' });
    const login = await beginLogin(a);
    const form = /<form[^>]*action="([^"]*\/login)"[^>]*>([\s\S]*?)<\/form>/.exec(login.page.html)!;
    const fields = new URLSearchParams();
    for (const m of form[2]!.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
      const name = /name="([^"]+)"/.exec(m[0])?.[1];
      if (name) fields.set(name, decode(/value="([^"]*)"/.exec(m[0])?.[1] ?? ''));
    }
    fields.set('email', 'race@example.no');
    fields.set('password', 'Wrong-Pass-1');
    const path = decode(form[1]!);

    await racer.warm(a.url, b.url);
    const answers = await Promise.all(
      Array.from({ length: RACERS }, (_, i) =>
        racer.request(new URL(path, [a.url, b.url][i % 2]), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', cookie: cookiesOf(login.browser, path), 'x-forwarded-for': CLIENT_ADDRESS },
          body: fields.toString(),
        }),
      ),
    );
    const counts: Record<number, number> = {};
    for (const { status } of answers) counts[status] = (counts[status] ?? 0) + 1;
    expect(counts).toEqual({ 401: FREE_FAILURES + 1, 429: RACERS - FREE_FAILURES - 1 });

    const hitsOf = async (key: string) => Number((await db.knex('rate_limits').where({ key }).first('hits'))?.hits);
    expect(await hitsOf(`login:account:${account.id}`)).toBe(FREE_FAILURES + 1);
    const ipRows = (await db.knex('rate_limits').where('key', 'like', 'login:ip:%').select('hits')) as Array<{ hits: number | string }>;
    expect(ipRows.map((r) => Number(r.hits))).toEqual([FREE_FAILURES + 1]);
    const audited = await db.knex('audit_events').where({ event: 'login.password', outcome: 'failure' }).select('detail');
    expect(audited.filter((r: { detail: string }) => String(r.detail).includes('wrong_password'))).toHaveLength(FREE_FAILURES + 1);
  });
});
