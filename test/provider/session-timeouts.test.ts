/**
 * Sessions end on time (DESIGN §6): the idle timeout, the absolute lifetime, the note on the login page,
 * refresh tokens bound to the session, and the back-channel logout the sweeper sends.
 *
 * Time: jest fakes only `Date`, so oidc-provider (which reads Date.now) and our Clock (which reads it too)
 * see the same moved time, while timers, sockets and the database run for real. The first test proves the
 * two agree: the session's `exp` written by oidc-provider and its row's `expires_at` written by our
 * adapter describe the same instant.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { jest } from '@jest/globals';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, writeClientsFile, testClients, CONFIDENTIAL_SECRET, RP, type RunningService } from '../support/service.js';
import { Browser } from '../support/browser.js';
import { codeFlow, discover, TEST_USER } from '../support/rp.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import type { Clock } from '../../src/clock.js';
import type { Database } from '../../src/store/db.js';
import { createSessionEndings, type SessionEndings } from '../../src/store/session-expiry.js';
import { createAdapterClass } from '../../src/store/oidc-adapter.js';
import { sweepExpiredSessions } from '../../src/store/session-sweep.js';
import { sendBackchannelLogouts } from '../../src/provider/session-policy.js';

const MINUTE = 60_000;
const IDLE_SECONDS = 1800;
const MAX_SECONDS = 2 * 3600;
const START = Date.UTC(2026, 2, 2, 8, 0, 0);
const BACKCHANNEL_EVENT = { 'http://schemas.openid.net/event/backchannel-logout': {} };

/** Our Clock reads the (faked) Date, as oidc-provider does. */
const clock: Clock = { now: () => Date.now() };
const advance = (ms: number) => jest.setSystemTime(Date.now() + ms);

describe.each(dialects)('session timeouts on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;
  let receiver: http.Server;
  let config: oidc.Configuration;
  const logoutTokens: string[] = [];
  let onLogoutToken: () => void = () => undefined;
  /** Logout tokens for one session (the scheduled sweep may end other tests' sessions meanwhile). */
  const tokensFor = (sid: unknown) => logoutTokens.filter((t) => decodeJwt(t).sid === sid);
  /** Resolves once `count` logout tokens for `sid` have arrived: an event, not a sleep (the jest timeout bounds it). */
  const received = (sid: unknown, count: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (tokensFor(sid).length >= count) resolve();
      };
      const previous = onLogoutToken;
      onLogoutToken = () => {
        previous();
        check();
      };
      check();
    });

  beforeAll(async () => {
    jest.useFakeTimers({
      now: START,
      doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'requestAnimationFrame', 'cancelAnimationFrame', 'requestIdleCallback', 'cancelIdleCallback', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'],
    });
    db = await createTestDatabase(dialect);
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const token = new URLSearchParams(body).get('logout_token');
        if (token) logoutTokens.push(token);
        res.writeHead(200).end();
        onLogoutToken();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const clientsFile = writeClientsFile([
      ...testClients,
      {
        client_id: 'bcl',
        client_secret: CONFIDENTIAL_SECRET,
        redirect_uris: [RP],
        grant_types: ['authorization_code', 'refresh_token'],
        scope: 'openid email profile offline_access',
        backchannel_logout_uri: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/backchannel`,
        backchannel_logout_session_required: true,
        skip_consent: true,
      },
    ]);
    // The scheduled sweep (every 60 s, real time) may also run during the test: it is the same code as
    // the explicit sweeps below, and the assertions count one session's logout tokens, sent once either way.
    server = await startService({
      db,
      clock,
      clientsFile,
      // The RP's back-channel receiver is on loopback: allowed, as an operator allows their own RP.
      env: { SESSION_MAX_LIFETIME_SECONDS: String(MAX_SECONDS), SESSION_SWEEP_INTERVAL_SECONDS: '60', ALLOW_PRIVATE_OUTBOUND_HOSTS: '127.0.0.1' },
    });
    await createLocalAccount(db, clock, TEST_USER);
    config = await discover(server.url, 'bcl', oidc.ClientSecretBasic(CONFIDENTIAL_SECRET));
  });
  afterAll(async () => {
    await server.close();
    await db.close();
    await new Promise((resolve) => receiver.close(resolve));
    jest.useRealTimers();
  });

  const sweep = (on: Database = db) =>
    sweepExpiredSessions({
      endings: createSessionEndings(on, clock, server.config.sessions),
      onEnded: (session) => sendBackchannelLogouts(server.service.provider(), session),
      onError: (err) => {
        throw err;
      },
    });

  /** An authorization request in `browser`; returns the RP redirect's parameters, or the page shown. */
  async function authorize(browser: Browser, params: Record<string, string> = {}) {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid',
      state: oidc.randomState(),
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      ...params,
    });
    const page = await browser.go(url.toString());
    return { page, redirect: page.url.startsWith(RP) ? new URL(page.url).searchParams : undefined };
  }
  const silently = async (browser: Browser) => (await authorize(browser, { prompt: 'none' })).redirect;

  async function sessionRows() {
    return (await db.knex('oidc_payloads').select('payload', 'expires_at').where('model', 'Session')) as Array<{ payload: string; expires_at: string | number }>;
  }

  async function verifyLogoutToken(token: string) {
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${server.url}/jwks`)), { issuer: server.url, audience: 'bcl' });
    return payload;
  }

  test('oidc-provider and our clock agree on when a session ends', async () => {
    jest.setSystemTime(START);
    const before = new Set((await sessionRows()).map((r) => r.payload));
    await codeFlow(config, server.url);
    const [row] = (await sessionRows()).filter((r) => !before.has(r.payload));
    const payload = JSON.parse(row!.payload) as { exp: number; loginTs: number };
    // oidc-provider wrote exp from its Date.now; our adapter wrote expires_at from our Clock.
    expect(payload.loginTs).toBe(START / 1000);
    expect(payload.exp).toBe(START / 1000 + IDLE_SECONDS);
    expect(Number(row!.expires_at)).toBe(START + IDLE_SECONDS * 1000);
  });

  test('activity keeps a session alive; after 30 idle minutes it is over for oidc-provider, the login page, refresh tokens and the RP', async () => {
    const { tokens, browser } = await codeFlow(config, server.url);
    const { tokens: offline } = await codeFlow(config, server.url, { scope: 'openid offline_access', prompt: 'consent' }, browser);
    const sessionBound = tokens.refresh_token!;
    expect(sessionBound).toBeDefined();
    expect(offline.refresh_token).toBeDefined();
    const { sub, sid } = tokens.claims()!;

    // Used every 29 minutes, it outlives the idle timeout counted from the login.
    for (let i = 0; i < 3; i++) {
      advance(29 * MINUTE);
      expect((await silently(browser))?.get('code')).toBeTruthy();
    }
    await sweep();
    expect(tokensFor(sid)).toHaveLength(0);

    // 29:59 idle: still alive for us (nothing to sweep, the row is not expired)…
    advance(IDLE_SECONDS * 1000 - 1000);
    await sweep();
    expect(tokensFor(sid)).toHaveLength(0);
    // …and one second later over, for oidc-provider and for us alike.
    advance(1000);
    expect((await silently(browser))?.get('error')).toBe('login_required');

    // The visible login after the silent one (as an SPA does it) still says why.
    const { page } = await authorize(browser);
    expect(page.status).toBe(200);
    expect(page.html).toContain('name="password"');
    expect(page.html).toContain('You were logged out because you were inactive for 30 minutes.');

    await expect(oidc.refreshTokenGrant(config, sessionBound)).rejects.toMatchObject({ error: 'invalid_grant' });
    // offline_access is the exception: that refresh token outlives the session.
    expect((await oidc.refreshTokenGrant(config, offline.refresh_token!)).access_token).toBeTruthy();

    await sweep();
    await received(sid, 1);
    expect(await verifyLogoutToken(tokensFor(sid)[0]!)).toMatchObject({ sub, sid, events: BACKCHANNEL_EVENT });
    // Claimed once: another sweep sends nothing more.
    await sweep();
    expect(tokensFor(sid)).toHaveLength(1);
  });

  test('however active, a session ends at its maximum lifetime, with its own note', async () => {
    const { tokens, browser } = await codeFlow(config, server.url);
    const { sub, sid } = tokens.claims()!;
    for (let i = 0; i < 4; i++) {
      advance(25 * MINUTE);
      expect((await silently(browser))?.get('code')).toBeTruthy();
    }
    // 1 h 59 min 59 s after the login, 19 min 59 s after the last use: alive.
    advance(20 * MINUTE - 1000);
    await sweep();
    expect(tokensFor(sid)).toHaveLength(0);
    advance(1000);
    // A browser that comes straight back, without a silent request first (in Norwegian).
    const returning = new Browser(server.url, 'nb');
    returning.adoptCookiesFrom(browser);
    expect((await silently(browser))?.get('error')).toBe('login_required');
    const { page } = await authorize(returning);
    expect(page.html).toContain('Du ble logget ut fordi en innlogging bare varer en begrenset tid');

    // Two instances (two connection pools) sweep at once: one logout token.
    const twin = db.openTwin();
    try {
      await Promise.all([sweep(), sweep(twin), sweep(twin), sweep()]);
    } finally {
      await twin.close();
    }
    await received(sid, 1);
    expect(await verifyLogoutToken(tokensFor(sid)[0]!)).toMatchObject({ sub, sid, events: BACKCHANNEL_EVENT });
    await sweep();
    expect(tokensFor(sid)).toHaveLength(1);
  });

  test('the session cookie lasts until the browser closes, so a returning browser can be told why', async () => {
    const { browser } = await codeFlow(config, server.url);
    const res = await fetch(`${server.url}/auth?client_id=bcl&response_type=code&scope=openid&prompt=none&redirect_uri=${encodeURIComponent(RP)}&code_challenge=3yUnslZppQlFAEtGfYJIeZN48FZZE6ibOBJXihE6XY0&code_challenge_method=S256`, {
      headers: { cookie: (browser as unknown as { cookieHeader(path: string): string }).cookieHeader('/auth') },
      redirect: 'manual',
    });
    const sessionCookies = res.headers.getSetCookie().filter((c) => /^_session(\.sig)?=/.test(c));
    expect(sessionCookies.length).toBeGreaterThan(0);
    for (const cookie of sessionCookies) expect(cookie).not.toMatch(/expires=/i);
    expect(new URL(res.headers.get('location')!).searchParams.get('code')).toBeTruthy();
  });
});

describe.each(dialects)('the session sweep on %s', (dialect) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await db.close();
  });

  test('two instances sweeping at once claim each ended session exactly once', async () => {
    const clockAt = { now: () => START + 3600_000 };
    const policy = { idleTimeoutSeconds: IDLE_SECONDS, maxLifetimeSeconds: MAX_SECONDS };
    const sessions = new (createAdapterClass(db, { now: () => START }))('Session');
    const ids = Array.from({ length: 120 }, (_, i) => `s${i}`);
    const login = START / 1000;
    for (const [i, id] of ids.entries()) {
      // Half ended idle, half at their maximum lifetime.
      const ttl = i % 2 ? IDLE_SECONDS : MAX_SECONDS;
      await sessions.upsert(id, { jti: id, kind: 'Session', accountId: `acct-${id}`, loginTs: login, iat: login, exp: login + ttl, authorizations: {} }, Math.min(ttl, 3000));
    }
    const twin = db.openTwin();
    try {
      const a = createSessionEndings(db, clockAt, policy);
      const b = createSessionEndings(twin, clockAt, policy);
      const claimed: string[] = [];
      // Small batches, interleaved from two connection pools, until neither finds anything (bounded).
      const drain = async (endings: SessionEndings) => {
        for (let round = 0; round < 100; round++) {
          const batch = await endings.claimExpired(7);
          claimed.push(...batch.map((s) => s.id));
          if (batch.length === 0) return;
        }
      };
      await Promise.all([drain(a), drain(b), drain(a), drain(b)]);
      expect([...claimed].sort()).toEqual([...ids].sort());
      expect(new Set(claimed).size).toBe(ids.length);
      // Each claimed session left its reason behind for the login page.
      expect(await b.reasonFor('s0')).toBe('max_lifetime');
      expect(await a.reasonFor('s1')).toBe('idle');
      expect(await a.reasonFor('unknown')).toBeUndefined();
    } finally {
      await twin.close();
    }
  });
});
