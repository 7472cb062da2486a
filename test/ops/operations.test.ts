/**
 * What operators rely on: health and readiness, running behind a TLS-terminating proxy, security
 * headers, JSON logs with request ids and no secrets, and the audit trail of logins.
 */
import * as oidc from 'openid-client';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, CONFIDENTIAL_SECRET, type RunningService } from '../support/service.js';
import { codeFlow, discover, TEST_USER } from '../support/rp.js';
import { Browser } from '../support/browser.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { createAuditLog } from '../../src/store/audit.js';
import { systemClock } from '../../src/clock.js';

describe.each(dialects)('operations on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    server = await startService({ db });
    await createLocalAccount(db, systemClock, TEST_USER);
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  test('/healthz answers and /readyz checks the database', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  test('logs are JSON with request ids and never contain passwords, codes, secrets or tokens', async () => {
    const config = await discover(server.url, 'conf', oidc.ClientSecretBasic(CONFIDENTIAL_SECRET));
    const wrong = new Browser(server.url);
    const page = await wrong.go(oidc.buildAuthorizationUrl(config, { redirect_uri: 'http://127.0.0.1:8999/callback', scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }).toString());
    await wrong.submit(page, /\/login$/, { email: TEST_USER.email, password: 'Wrong-Password-77' });
    const { tokens } = await codeFlow(config, server.url);
    const lines = server.logs.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const requestLines = lines.filter((l) => l.msg === 'request');
    expect(requestLines.length).toBeGreaterThan(3);
    for (const l of requestLines) {
      expect(l.reqId).toEqual(expect.any(String));
      expect(String(l.path)).not.toContain('?');
    }
    const text = server.logs.join('');
    for (const secret of [TEST_USER.password, 'Wrong-Password-77', CONFIDENTIAL_SECRET, tokens.access_token, tokens.id_token!, tokens.refresh_token ?? 'no-refresh-token-issued']) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toMatch(/code=/);
  });

  test('a refused token request is logged with its reason, without the code', async () => {
    const bogus = 'bogus-code-value-that-must-not-be-logged';
    const res = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`conf:${CONFIDENTIAL_SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: bogus, redirect_uri: 'http://127.0.0.1:8999/callback', code_verifier: 'v'.repeat(43) }),
    });
    expect(res.status).toBe(400);
    const refused = server.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'oidc request refused');
    expect(refused.at(-1)).toMatchObject({ event: 'grant.error', error: 'invalid_grant', clientId: 'conf' });
    expect(server.logs.join('')).not.toContain(bogus);
  });

  test('failed and successful logins are in the audit trail', async () => {
    const events = await createAuditLog(db, systemClock).recent(20);
    expect(events.some((e) => e.event === 'login.password' && e.outcome === 'failure' && e.detail?.reason === 'wrong_password')).toBe(true);
    expect(events.some((e) => e.event === 'login.password' && e.outcome === 'success' && e.accountId)).toBe(true);
    expect(JSON.stringify(events)).not.toContain('Wrong-Password-77');
  });

  test('our pages carry strict security headers and the interaction cookie is HttpOnly', async () => {
    const config = await discover(server.url, 'conf', oidc.ClientSecretBasic(CONFIDENTIAL_SECRET));
    const auth = oidc.buildAuthorizationUrl(config, { redirect_uri: 'http://127.0.0.1:8999/callback', scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
    const first = await fetch(auth, { redirect: 'manual' });
    const cookies = first.headers.getSetCookie();
    expect(cookies.some((c) => /^_interaction=/.test(c) && /httponly/i.test(c) && /samesite=lax/i.test(c))).toBe(true);
    const page = await fetch(new URL(first.headers.get('location')!, server.url), { headers: { cookie: cookies.map((c) => c.split(';')[0]).join('; ') } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('cache-control')).toBe('no-store');
    // oidc-provider's own pages (form_post, auto-submitting logout) keep their inline scripts working.
    const discovery = await fetch(`${server.url}/.well-known/openid-configuration`);
    expect(discovery.headers.get('content-security-policy')).toBeNull();
  });
});

describe('readiness', () => {
  test('/readyz answers 503 when the database is unreachable, /healthz still 200', async () => {
    const db = await createTestDatabase('sqlite');
    const twin = db.openTwin();
    const server = await startService({ db: twin });
    try {
      await twin.close();
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'database unreachable' });
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
      await db.close();
    }
  });
});

describe('behind a TLS-terminating proxy', () => {
  test('with the proxy in TRUSTED_PROXIES, https endpoints are advertised and cookies are Secure', async () => {
    const db = await createTestDatabase('sqlite');
    const server = await startService({ db, env: { ISSUER: 'https://id.example.test', TRUSTED_PROXIES: 'loopback' } });
    try {
      const headers = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'id.example.test' };
      const meta = (await (await fetch(`${server.url}/.well-known/openid-configuration`, { headers })).json()) as Record<string, string>;
      expect(meta.issuer).toBe('https://id.example.test');
      for (const key of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'end_session_endpoint']) {
        expect(meta[key]).toMatch(/^https:\/\/id\.example\.test\//);
      }
      const auth = new URL('/auth', server.url);
      auth.search = new URLSearchParams({ client_id: 'conf', response_type: 'code', scope: 'openid', redirect_uri: 'http://127.0.0.1:8999/callback', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }).toString();
      const res = await fetch(auth, { headers, redirect: 'manual' });
      expect(res.status).toBe(303);
      expect(res.headers.getSetCookie().every((c) => /;\s*secure/i.test(c))).toBe(true);
      expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/);
    } finally {
      await server.close();
      await db.close();
    }
  });
});
