/**
 * Device cookies (OWASP): a browser that has logged in to an account keeps its own failure budget, so
 * an attacker's failures from elsewhere cannot lock the owner out. On each dialect, with an injected
 * clock: 30 failures from other browsers leave the owner's known browser able to log in at once while
 * an unknown browser of the owner is delayed as before; a known browser's own failures are throttled on
 * its own budget and do not lock the account; a cookie counts only for its account, with our key,
 * within its lifetime. The cookie itself is checked on a real koa response: httpOnly, SameSite=Lax,
 * path /interaction, long-lived, Secure over https, and nothing in it names the person.
 */
import http from 'node:http';
import Koa from 'koa';
import request from 'supertest';
import { ManualClock } from '../support/manual-clock.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { createDeviceCookies } from '../../src/interactions/device-cookie.js';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, RP, type RunningService } from '../support/service.js';
import { Browser } from '../support/browser.js';
import { alertText, beginLogin } from '../support/local-accounts.js';

const OWNER = { email: 'owner@example.no', name: 'Owner', password: 'Owner-Pass-1' };
const OTHER = { email: 'other@example.no', name: 'Other', password: 'Other-Pass-1' };
const THROTTLED = 'Too many failed login attempts. Try again in 1 min.';

describe.each(dialects)('device cookies on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    server = await startService({ db, clock, env: { DEVICE_COOKIE_DAYS: '30' } });
    await createLocalAccount(db, clock, OWNER);
    await createLocalAccount(db, clock, OTHER);
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });
  beforeEach(async () => {
    await db.knex('rate_limits').del();
  });

  /** One login attempt in `browser` (a new one: an unknown browser); prompt=login so a session does not skip the page. */
  async function attempt(email: string, password: string, browser = new Browser(server.url)) {
    const login = await beginLogin(server, { browser, params: { prompt: 'login' } });
    const page = await login.browser.submit(login.page, /\/login$/, { email, password });
    return { status: page.status, atRp: page.url.startsWith(RP), alert: alertText(page) };
  }
  /** A browser that has logged in to `who` once. */
  async function knownBrowser(who: { email: string; password: string }): Promise<Browser> {
    const browser = new Browser(server.url);
    expect((await attempt(who.email, who.password, browser)).atRp).toBe(true);
    expect(browser.cookieNames().filter((n) => n.startsWith('nordlys.device.'))).toHaveLength(1);
    return browser;
  }
  const attackerFailures = async (email: string, count: number) => {
    const statuses = new Set<number>();
    for (let i = 0; i < count; i += 1) statuses.add((await attempt(email, `Guess-${i}-x`)).status);
    return [...statuses].sort();
  };

  test("30 failures from elsewhere: the owner's known browser logs in at once, an unknown one is delayed", async () => {
    const known = await knownBrowser(OWNER);
    expect(await attackerFailures(OWNER.email, 30)).toEqual([401, 429]);

    expect(await attempt(OWNER.email, OWNER.password, new Browser(server.url))).toMatchObject({ status: 429, alert: THROTTLED });
    expect(await attempt(OWNER.email, OWNER.password, known)).toMatchObject({ atRp: true });
    // The login gave the browser a fresh cookie, and it works again while the attack goes on.
    expect(await attackerFailures(OWNER.email, 3)).toEqual([429]);
    expect(await attempt(OWNER.email, OWNER.password, known)).toMatchObject({ atRp: true });
    const audit = await db.knex('audit_events').where({ event: 'login.password', outcome: 'success' }).orderBy('id', 'desc').first();
    expect(JSON.parse(audit.detail)).toEqual({ device: true });
  });

  test("a known browser's own failures use its own budget: it is delayed, the account is not", async () => {
    const known = await knownBrowser(OWNER);
    for (let i = 0; i < 6; i += 1) expect((await attempt(OWNER.email, `Typo-${i}-x`, known)).status).toBe(401);
    expect(await attempt(OWNER.email, OWNER.password, known)).toMatchObject({ status: 429, alert: THROTTLED });
    expect(await db.knex('rate_limits').where('key', 'like', 'login:account:%')).toEqual([]);
    expect(await db.knex('rate_limits').where('key', 'like', 'login:ip:%').andWhere('hits', '>', 0)).toEqual([]);
    // Another browser of the owner is not held back by them …
    expect(await attempt(OWNER.email, OWNER.password)).toMatchObject({ atRp: true });
    // … and the known browser's own delay ends like any other.
    clock.advance(30_000);
    expect(await attempt(OWNER.email, OWNER.password, known)).toMatchObject({ atRp: true });
  });

  test('a cookie counts only for its own account, and only within its lifetime', async () => {
    const ownersBrowser = await knownBrowser(OWNER);
    expect(await attackerFailures(OTHER.email, 7)).toEqual([401, 429]);
    // The owner's cookie is no pass for another account.
    expect(await attempt(OTHER.email, OTHER.password, ownersBrowser)).toMatchObject({ status: 429, alert: THROTTLED });

    // Thirty-one days later the cookie has run out: the browser is unknown again.
    clock.advance(31 * 24 * 3600 * 1000);
    expect(await attackerFailures(OWNER.email, 7)).toEqual([401, 429]);
    expect(await attempt(OWNER.email, OWNER.password, ownersBrowser)).toMatchObject({ status: 429, alert: THROTTLED });
  });
});

describe('the device cookie itself', () => {
  const key = Buffer.alloc(32, 9);
  const clock = new ManualClock(Date.UTC(2026, 11, 1));
  const cookies = createDeviceCookies({ key, clock, lifetimeDays: 365 });

  /** A real koa app: /issue sets the cookie for ?account=, /read answers the nonce it reads back (or none). */
  function app(https = false) {
    const koa = new Koa({ proxy: true });
    koa.use(async (ctx) => {
      if (https) ctx.request.headers['x-forwarded-proto'] = 'https';
      const account = String(ctx.query.account);
      if (ctx.path === '/interaction/issue') {
        cookies.issue(ctx, account);
        ctx.body = 'ok';
      } else {
        ctx.body = cookies.read(ctx, account) ?? 'none';
      }
    });
    return http.createServer(koa.callback());
  }

  test('httpOnly, SameSite=Lax, path /interaction, a year long, Secure over https; no address or account id in it', async () => {
    const res = await request(app()).get('/interaction/issue?account=acc-123');
    const plain = res.headers['set-cookie'] as unknown as string[];
    expect(plain).toHaveLength(1);
    const [pair, ...attributes] = plain[0]!.split('; ');
    expect(pair).toMatch(/^nordlys\.device\.[0-9a-f]{16}=[A-Za-z0-9_-]{22}\.[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);
    expect(pair).not.toContain('acc-123');
    expect(attributes).toEqual(expect.arrayContaining(['path=/interaction', 'samesite=lax', 'httponly']));
    // koa writes the lifetime as Expires: a year after the response's own Date.
    const expires = Date.parse(attributes.find((a) => a.startsWith('expires='))!.slice('expires='.length));
    expect(Math.round((expires - Date.parse(String(res.headers.date))) / (24 * 3600 * 1000))).toBe(365);
    expect(attributes).not.toContain('secure');
    const secure = (await request(app(true)).get('/interaction/issue?account=acc-123')).headers['set-cookie'] as unknown as string[];
    expect(secure[0]!.split('; ')).toContain('secure');
  });

  test('read back: valid for its account only, not when altered, not after its lifetime', async () => {
    const server = app();
    const issued = (await request(server).get('/interaction/issue?account=acc-1')).headers['set-cookie'] as unknown as string[];
    const cookie = issued[0]!.split(';')[0]!;
    const [name, value] = cookie.split('=') as [string, string];
    const read = async (account: string, sent = cookie) => (await request(server).get(`/interaction/read?account=${account}`).set('Cookie', sent)).text;

    expect(await read('acc-1')).toBe(value.split('.')[0]);
    expect(await read('acc-2')).toBe('none');
    // Under acc-2's cookie name the value is still acc-1's MAC: refused.
    const acc2Name = ((await request(server).get('/interaction/issue?account=acc-2')).headers['set-cookie'] as unknown as string[])[0]!.split('=')[0];
    expect(await read('acc-2', `${acc2Name}=${value}`)).toBe('none');
    const [nonce, stamp, mac] = value.split('.') as [string, string, string];
    const flipped = `${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`;
    expect(await read('acc-1', `${name}=${nonce}.${stamp}.${flipped}`)).toBe('none');
    expect(await read('acc-1', `${name}=${nonce}.${(parseInt(stamp, 36) + 1).toString(36)}.${mac}`)).toBe('none');
    expect(await read('acc-1', `${name}=garbage`)).toBe('none');

    clock.advance(364 * 24 * 3600 * 1000);
    expect(await read('acc-1')).toBe(nonce);
    clock.advance(24 * 3600 * 1000);
    expect(await read('acc-1')).toBe('none');
  });
});
