/**
 * Abuse resistance, on each dialect, with an injected clock: failed logins are delayed per account and
 * per IP address with growing, capped delays (never a permanent lockout), the page says when to try
 * again, the counts hold across two instances on one database, a password reset clears them; known and
 * unknown addresses are throttled alike; code sends are limited per address and per IP address. Every
 * request comes from one public address behind a trusted proxy (the test, on loopback): loopback itself
 * has no per-IP limits.
 */
import { ManualClock } from '../support/manual-clock.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';
import { ForwardedBrowser } from '../support/browser.js';
import { alertText, beginLogin, choosePassword, enterCode, requestCode } from '../support/local-accounts.js';

const CLIENT_ADDRESS = '203.0.113.20';

describe.each(dialects)('throttling on %s', (dialect) => {
  let db: TestDatabase;
  let smtp: TestSmtp;
  let server: RunningService;
  const clock = new ManualClock(Date.now());
  // Three free failures per account (twelve per IP), delays from 30 s doubling up to 120 s.
  const env = (smtpUrl: string) => ({ SMTP_URL: smtpUrl, LOGIN_FREE_FAILURES: '3', LOGIN_MAX_DELAY_SECONDS: '120', TRUSTED_PROXIES: 'loopback' });
  const browserFor = (on: RunningService) => new ForwardedBrowser(on.url, CLIENT_ADDRESS);

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    smtp = await startSmtp();
    server = await startService({ db, clock, env: env(smtp.url) });
  });
  afterAll(async () => {
    await server.close();
    await smtp.close();
    await db.close();
  });
  // Each test starts with clean counters (they are all from CLIENT_ADDRESS).
  beforeEach(async () => {
    await db.knex('rate_limits').del();
  });

  async function attempt(email: string, password: string, on: RunningService = server) {
    const login = await beginLogin(on, { browser: browserFor(on) });
    const page = await login.browser.submit(login.page, /\/login$/, { email, password });
    return { status: page.status, alert: alertText(page) };
  }

  test('growing delays per account, capped, with a message saying when; a success clears the count', async () => {
    await createLocalAccount(db, clock, { email: 'slow@example.no', name: 'Slow', password: 'Right-Pass-1' });
    for (let i = 0; i < 4; i += 1) expect((await attempt('slow@example.no', 'wrong')).status).toBe(401);
    // The fourth failure started a 30-second delay: even the right password waits, and is told how long.
    const held = await attempt('slow@example.no', 'Right-Pass-1');
    expect(held).toEqual({ status: 429, alert: 'Too many failed login attempts. Try again in 1 min.' });

    // Each further failure doubles the wait, up to the cap: one second early is still refused, on time is let in.
    for (const seconds of [30, 60, 120, 120]) {
      clock.advance((seconds - 1) * 1000);
      expect([seconds, (await attempt('slow@example.no', 'wrong')).status]).toEqual([seconds, 429]);
      clock.advance(1000);
      expect([seconds, (await attempt('slow@example.no', 'wrong')).status]).toEqual([seconds, 401]);
    }
    // Never permanent: after the capped wait the right password gets in, and the count starts over.
    clock.advance(120_000);
    expect((await attempt('slow@example.no', 'Right-Pass-1')).status).toBe(0);
    expect(await db.knex('rate_limits').where('key', 'like', 'login:account:%')).toHaveLength(0);
    for (let i = 0; i < 3; i += 1) expect((await attempt('slow@example.no', 'wrong')).status).toBe(401);
  });

  test('an unknown address is throttled exactly like a known one', async () => {
    const seen: Array<{ status: number; alert: string }> = [];
    for (let i = 0; i < 5; i += 1) seen.push(await attempt('nobody@example.no', 'wrong'));
    await db.knex('rate_limits').del();
    await createLocalAccount(db, clock, { email: 'somebody@example.no', name: 'Somebody', password: 'Right-Pass-1' });
    const known: Array<{ status: number; alert: string }> = [];
    for (let i = 0; i < 5; i += 1) known.push(await attempt('somebody@example.no', 'wrong'));
    expect(seen).toEqual(known);
    expect(seen.map((s) => s.status)).toEqual([401, 401, 401, 401, 429]);
  });

  test('per IP address: many names from one address are delayed too', async () => {
    for (let i = 0; i < 13; i += 1) expect((await attempt(`spray-${i}@example.no`, 'Password1')).status).toBe(401);
    expect(await attempt('fresh-name@example.no', 'Password1')).toEqual({ status: 429, alert: 'Too many failed login attempts. Try again in 1 min.' });
  });

  test('the counts are in the database: two instances share them', async () => {
    await createLocalAccount(db, clock, { email: 'twice@example.no', name: 'Twice', password: 'Right-Pass-1' });
    const twin = db.openTwin();
    const second = await startService({ db: twin, clock, env: env(smtp.url) });
    try {
      for (let i = 0; i < 2; i += 1) expect((await attempt('twice@example.no', 'wrong')).status).toBe(401);
      for (let i = 0; i < 2; i += 1) expect((await attempt('twice@example.no', 'wrong', second)).status).toBe(401);
      expect((await attempt('twice@example.no', 'Right-Pass-1')).status).toBe(429);
      expect((await attempt('twice@example.no', 'Right-Pass-1', second)).status).toBe(429);
    } finally {
      await second.close();
      await twin.close();
    }
  });

  test('a password reset clears the account: the owner of the mailbox is never locked out', async () => {
    const email = 'locked@example.no';
    await createLocalAccount(db, clock, { email, name: 'Locked', password: 'Right-Pass-1' });
    for (let i = 0; i < 4; i += 1) await attempt(email, 'wrong');
    expect((await attempt(email, 'Right-Pass-1')).status).toBe(429);
    const login = await beginLogin(server, { browser: browserFor(server) });
    const codePage = await requestCode(login, 'reset', email);
    const passwordPage = await enterCode(login, codePage, smtp.codeFor(email));
    expect((await choosePassword(login, passwordPage, { password: 'Brand4Newpass' })).status).toBe(0);
    expect((await attempt(email, 'Brand4Newpass')).status).toBe(0);
  });

  test('code sends are limited per address and per IP address, and say when to try again', async () => {
    const limited = await startService({ db, clock, env: { ...env(smtp.url), CODE_SENDS_PER_ADDRESS_HOURLY: '2', CODE_SENDS_PER_IP_HOURLY: '4' } });
    try {
      const send = async (email: string) => {
        const login = await beginLogin(limited, { browser: browserFor(limited) });
        const page = await requestCode(login, 'register', email);
        return { status: page.status, alert: alertText(page) };
      };
      expect((await send('many@example.no')).status).toBe(200);
      expect((await send('many@example.no')).status).toBe(200);
      const refused = await send('many@example.no');
      expect(refused).toEqual({ status: 429, alert: 'You have asked for too many codes. Try again in 60 min.' });
      expect(smtp.to('many@example.no')).toHaveLength(2);
      // Per IP: two more addresses use up the four sends; a fifth address is refused.
      expect((await send('other-1@example.no')).status).toBe(200);
      expect((await send('other-2@example.no')).status).toBe(200);
      expect((await send('other-3@example.no')).status).toBe(429);
      clock.advance(3600_000);
      expect((await send('many@example.no')).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
