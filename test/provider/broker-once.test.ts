/**
 * Broker logins complete once (issue 8), on each dialect, PostgreSQL with a pool of 20 so the requests
 * overlap in the database:
 * - ID-porten: 50 simultaneous callbacks with one upstream `state` — one is taken (and talks to the
 *   upstream), 49 are refused; then 50 simultaneous `done` requests for the outcome — one finishes the
 *   interaction, 49 go back to the method list; one login is audited and the winner's code works.
 * - BankID: 50 simultaneous polls of a completed order — the login is made and audited once, and every
 *   poll reads that one outcome.
 * The racers go out over sockets opened beforehand (test/support/racer.ts), so they start together.
 */
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { Browser, type Page } from '../support/browser.js';
import { Racer } from '../support/racer.js';
import { ManualClock } from '../support/manual-clock.js';
import { begin, chooseMethod, eidClientsFile, KARI, redeem, type Flow } from '../brokers/eid-support.js';

const RACERS = 50;
const ASTRID = '198507099821';
const APP_ORDER = /\/mock\/bankid\/app\/[0-9a-f-]{36}$/;

const cookiesOf = (browser: Browser, path: string): string => (browser as unknown as { cookieHeader(p: string): string }).cookieHeader(path);

function tally(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

describe.each(dialects)('broker logins complete once on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;
  const racer = new Racer(RACERS);
  // BankID is collected at most once per 2 s per order: the test moves this clock past that interval.
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    db = await createTestDatabase(dialect, { poolMax: 20 });
    server = await startService({ db, clock, clientsFile: eidClientsFile(), env: { MOCKS_ENABLED: 'true' } });
  });
  afterAll(async () => {
    racer.close();
    await server.close();
    await db.close();
  });

  const successes = async (event: string): Promise<number> => (await db.knex('audit_events').where({ event, outcome: 'success' })).length;

  const warm = () => racer.warm(server.url);

  /** One racer: answers "<status> <where it points>" with the interaction uid blanked. */
  async function hit(flow: Flow, url: string): Promise<{ label: string; location: string | null }> {
    const target = new URL(url, server.url);
    const { status, location } = await racer.request(target, { headers: { accept: 'text/html', cookie: cookiesOf(flow.browser, target.pathname) } });
    const where = location ? new URL(location, server.url).pathname.replace(/^\/(auth|interaction)\/[^/]+/, '/$1/:uid') : '';
    return { label: `${status} ${where}`.trim(), location };
  }

  test(`ID-porten: ${RACERS} simultaneous callbacks and ${RACERS} simultaneous done requests complete one login`, async () => {
    const before = await successes('login.idporten');
    const flow = await begin(server.url, 'eid-only');
    const mock = await chooseMethod(flow, flow.page, 'idporten');
    const atCallback = await flow.browser.submit(mock, /\/mock\/idporten\/interaction\/[^/]+\/login$/, { person: KARI, eid: 'minid', action: 'login' }, { stopAt: /\/broker\/idporten\/callback\?/ });
    expect(atCallback.url).toMatch(/\/broker\/idporten\/callback\?/);

    await warm();
    const callbacks = await Promise.all(Array.from({ length: RACERS }, () => hit(flow, atCallback.url)));
    expect(tally(callbacks.map((c) => c.label))).toEqual({ '303 /interaction/:uid/broker/idporten/done': 1, '400': RACERS - 1 });
    const done = callbacks.find((c) => c.location)!.location!;

    await warm();
    const finishes = await Promise.all(Array.from({ length: RACERS }, () => hit(flow, done)));
    expect(tally(finishes.map((f) => f.label))).toEqual({ '303 /auth/:uid': 1, '302 /interaction/:uid': RACERS - 1 });
    expect(await successes('login.idporten')).toBe(before + 1);

    // The one that finished leads to a working code; a replay of the callback afterwards is refused too.
    const { claims } = await redeem(flow, await flow.browser.go(finishes.find((f) => f.label.startsWith('303'))!.location!));
    expect(claims.acr).toBe('substantial');
    expect((await hit(flow, atCallback.url)).label).toBe('400');
  });

  test(`BankID: ${RACERS} simultaneous polls of a completed order finish the login once`, async () => {
    const before = await successes('login.bankid-se');
    const flow = await begin(server.url, 'se', { scope: 'openid profile https://id.oidc.se/scope/naturalPersonNumber' });
    const page: Page = await chooseMethod(flow, flow.page, 'bankid-se');
    const qr = /<code id="bankid-qr-data">([^<]+)<\/code>/.exec(page.html)![1]!;
    const tester = new Browser(server.url);
    const opened = await tester.go(`${server.url}/mock/bankid/app?qr=${encodeURIComponent(qr)}`);
    const identify = await tester.submit(opened, APP_ORDER, { action: 'identify', person: ASTRID });
    await tester.submit(identify, APP_ORDER, { action: 'approve' });

    const path = `${new URL(page.url).pathname}/status`;
    clock.advance(2000);
    await warm();
    const polls = await Promise.all(
      Array.from({ length: RACERS }, async () => {
        const res = await racer.request(new URL(path, server.url), { headers: { accept: 'application/json', cookie: cookiesOf(flow.browser, path) } });
        expect(res.status).toBe(200);
        return JSON.parse(res.body) as { status: string; redirect?: string };
      }),
    );
    // One poll wins the interval and collects; the others read what is stored (still pending while the
    // winner asks). None records a failure; the winner, and every poll after it, sees the one outcome.
    expect(polls.every((p) => p.status === 'pending' || p.status === 'complete')).toBe(true);
    expect(polls.filter((p) => p.status === 'complete').length).toBeGreaterThanOrEqual(1);
    const later = await flow.browser.go(path, { headers: { accept: 'application/json' } });
    const after = JSON.parse(later.html) as { status: string; redirect?: string };
    expect(after.status).toBe('complete');
    const finished = [after];
    expect(new URL(after.redirect!, server.url).pathname.startsWith('/auth/')).toBe(true);
    for (const p of polls.filter((q) => q.status === 'complete')) expect(p.redirect).toBe(after.redirect);
    // The account is found or made once and the login audited once, however many polls raced.
    expect(await successes('login.bankid-se')).toBe(before + 1);
    const uid = new URL(page.url).pathname.split('/')[2]!;
    const order = await db.knex('decoupled_orders').where({ uid }).first('status');
    expect(order).toMatchObject({ status: 'complete' });
    // The BankID page of a finished order sends the browser on to the login's resumption (ic.finish: 303, as every login).
    expect((await hit(flow, page.url)).label).toBe('303 /auth/:uid');
    // The mock upstream, too, answers one final collect and refuses the racing ones (no internalError).
    expect(server.logs.filter((l) => l.includes('bankid mock failed'))).toEqual([]);
    const { userinfo } = await redeem(flow, await flow.browser.go(finished[0]!.redirect!));
    expect(userinfo['https://id.oidc.se/claim/personalIdentityNumber']).toBe(ASTRID);
  });
});
