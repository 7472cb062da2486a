/**
 * Limits on starting logins at /auth, on each dialect: per IP address and per client, counted only for
 * requests that create a new interaction, refused with the provider's error page (429, Retry-After, in
 * the user's language) and nothing stored for a refused one; the counts hold across two instances, and
 * of many concurrent requests exactly the limit get through. The window is moved with the injected clock
 * (only our counters read it: oidc-provider's interactions are created fresh after the move). Requests
 * come from a public address behind a trusted proxy (the test, on loopback): loopback itself has no per-IP
 * limit, which the last test shows.
 */
import { ManualClock } from '../support/manual-clock.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, RP, type RunningService } from '../support/service.js';
import { TEST_USER } from '../support/rp.js';
import { beginLogin } from '../support/local-accounts.js';
import { ForwardedBrowser } from '../support/browser.js';

const CLIENT_ADDRESS = '203.0.113.30';

/** A new browser (no cookies) starting a login at a client: code flow, PKCE for the public client. */
function authUrl(base: string, clientId: string, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams({ client_id: clientId, response_type: 'code', scope: 'openid', redirect_uri: RP, state: 's', ...extra });
  if (clientId === 'pub') {
    params.set('code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    params.set('code_challenge_method', 'S256');
  }
  return `${base}/auth?${params}`;
}

async function start(base: string, clientId = 'pub', init: { acceptLanguage?: string; extra?: Record<string, string>; from?: string | null } = {}) {
  const from = init.from === undefined ? CLIENT_ADDRESS : init.from;
  const headers: Record<string, string> = { 'accept-language': init.acceptLanguage ?? 'en', accept: 'text/html', ...(from ? { 'x-forwarded-for': from } : {}) };
  const res = await fetch(authUrl(base, clientId, init.extra), { redirect: 'manual', headers });
  return { status: res.status, location: res.headers.get('location') ?? '', retryAfter: res.headers.get('retry-after'), cookies: res.headers.getSetCookie(), html: await res.text() };
}

describe.each(dialects)('limits on new logins at /auth on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;
  const clock = new ManualClock(Date.now());
  const interactions = async () => Number((await db.knex('oidc_payloads').where({ model: 'Interaction' }).count({ n: '*' }))[0]!.n);

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    server = await startService({ db, clock, env: { AUTH_NEW_INTERACTIONS_PER_IP_MINUTE: '3', AUTH_NEW_INTERACTIONS_PER_CLIENT_MINUTE: '1000', TRUSTED_PROXIES: 'loopback' } });
    await createLocalAccount(db, clock, TEST_USER);
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });
  beforeEach(async () => {
    await db.knex('rate_limits').del();
    await db.knex('oidc_payloads').where({ model: 'Interaction' }).del();
  });

  test('per IP address: the fourth new login in a minute gets a 429 page, nothing is stored for it, and the next minute is open', async () => {
    for (let i = 0; i < 3; i += 1) {
      const ok = await start(server.url, i === 1 ? 'conf' : 'pub');
      expect([ok.status, ok.location.startsWith('/interaction/')]).toEqual([303, true]);
    }
    expect(await interactions()).toBe(3);

    const refused = await start(server.url, 'conf');
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    expect(refused.location).toBe('');
    expect(refused.cookies.filter((c) => c.startsWith('_interaction'))).toEqual([]);
    expect(refused.html).toContain('Too many logins have been started from your network or for this service in a short time. Wait a minute and try again.');
    expect(refused.html).toContain('temporarily_unavailable');
    expect(await interactions()).toBe(3);

    const norwegian = await start(server.url, 'pub', { acceptLanguage: 'nb' });
    expect(norwegian.status).toBe(429);
    expect(norwegian.html).toContain('Det er startet for mange innlogginger fra nettverket ditt eller til denne tjenesten på kort tid.');
    const swedish = await start(server.url, 'pub', { extra: { ui_locales: 'sv' } });
    expect(swedish.html).toContain('För många inloggningar har startats från ditt nätverk');

    clock.advance(60_000);
    expect((await start(server.url)).status).toBe(303);
    expect(await interactions()).toBe(4);
  });

  test('only requests that create an interaction count: bad requests and logins answered from a session do not', async () => {
    for (let i = 0; i < 5; i += 1) {
      expect((await start(server.url, 'no-such-client')).status).toBe(400);
      expect((await start(server.url, 'pub', { extra: { redirect_uri: 'https://evil.example/cb' } })).status).toBe(400);
      expect((await start(server.url, 'pub', { extra: { prompt: 'none' } })).location).toContain('error=login_required');
    }
    expect(await db.knex('rate_limits').where('key', 'like', 'auth:%')).toEqual([]);

    // One real login (one interaction), then five more authorizations answered from its session.
    const login = await beginLogin(server, { browser: new ForwardedBrowser(server.url, CLIENT_ADDRESS) });
    const callback = await login.browser.submit(login.page, /\/login$/, { email: TEST_USER.email, password: TEST_USER.password });
    expect(callback.url.startsWith(RP)).toBe(true);
    for (let i = 0; i < 5; i += 1) {
      const again = await login.browser.go(authUrl(server.url, 'pub'));
      expect([i, again.url.startsWith(RP), again.url.includes('code=')]).toEqual([i, true, true]);
    }
    // Two new logins are still allowed this minute (1 used of 3), the third is not.
    expect((await start(server.url)).status).toBe(303);
    expect((await start(server.url)).status).toBe(303);
    expect((await start(server.url)).status).toBe(429);
  });

  test('a login that goes on from its password to the consent prompt is one new login, not two', async () => {
    const browser = new ForwardedBrowser(server.url, CLIENT_ADDRESS);
    const page = await browser.go(authUrl(server.url, 'conf', { code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }));
    const consent = await browser.submit(page, /\/login$/, { email: TEST_USER.email, password: TEST_USER.password });
    expect(consent.html).toContain('/consent"');
    const rows = await db.knex('rate_limits').where('key', 'like', 'auth:%').orderBy('key');
    expect(rows.map((r: { key: string; hits: number | string }) => [r.key, Number(r.hits)])).toEqual([
      ['auth:client:conf', 1],
      [`auth:ip:${CLIENT_ADDRESS}`, 1],
    ]);
  });

  test('loopback itself has no per-IP limit (it would be everybody\'s at once); the client limit still counts it', async () => {
    for (let i = 0; i < 5; i += 1) expect((await start(server.url, 'pub', { from: null })).status).toBe(303);
    const rows = await db.knex('rate_limits').select('key', 'hits');
    expect(rows.map((r: { key: string; hits: number | string }) => [r.key, Number(r.hits)])).toEqual([['auth:client:pub', 5]]);
  });

  test('per client: one client used up does not stop another; the IP limit does not spend the client allowance', async () => {
    const limited = await startService({ db, clock, env: { AUTH_NEW_INTERACTIONS_PER_IP_MINUTE: '4', AUTH_NEW_INTERACTIONS_PER_CLIENT_MINUTE: '2', TRUSTED_PROXIES: 'loopback' } });
    try {
      expect((await start(limited.url, 'pub')).status).toBe(303);
      expect((await start(limited.url, 'pub')).status).toBe(303);
      expect((await start(limited.url, 'pub')).status).toBe(429);
      expect((await start(limited.url, 'conf')).status).toBe(303);
      // The IP's four are used (the refused one counted for the IP, as a flood's requests do) …
      expect((await start(limited.url, 'conf')).status).toBe(429);
      // … but that refusal was the IP's: the client 'conf' has one new login left for other addresses.
      const rows = await db.knex('rate_limits').where('key', 'like', 'auth:client:%').orderBy('key');
      expect(rows.map((r: { key: string; hits: number | string }) => [r.key, Number(r.hits)])).toEqual([
        ['auth:client:conf', 1],
        ['auth:client:pub', 3],
      ]);
    } finally {
      await limited.close();
    }
  });

  test('the counts are in the database: two instances share them', async () => {
    const twin = db.openTwin();
    const second = await startService({ db: twin, clock, env: { AUTH_NEW_INTERACTIONS_PER_IP_MINUTE: '3', TRUSTED_PROXIES: 'loopback' } });
    try {
      expect((await start(server.url)).status).toBe(303);
      expect((await start(second.url)).status).toBe(303);
      expect((await start(server.url)).status).toBe(303);
      expect((await start(second.url)).status).toBe(429);
      expect((await start(server.url)).status).toBe(429);
    } finally {
      await second.close();
      await twin.close();
    }
  });

  test('of 24 concurrent new logins with a limit of 3 exactly 3 get through and exactly 3 interactions are stored', async () => {
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => start(server.url, i % 2 ? 'pub' : 'conf')));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 303)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(21);
    expect(await interactions()).toBe(3);
    const row = await db.knex('rate_limits').where('key', 'like', 'auth:ip:%').first();
    expect(Number(row.hits)).toBe(24);
  });
});
