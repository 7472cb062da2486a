/**
 * Conformance checks in the style of the OpenID conformance suite, driven black-box over HTTP as a relying
 * party would: redirect_uri is required at /auth and /token even for a client with one registered URI
 * (OIDC Core 3.1.2.1, suite test oidcc-ensure-redirect-uri-in-authorization-request), the authorization
 * and end-session endpoints accept POST (OIDC Core 3.1.2.1, RP-Initiated Logout §2), a grant type the
 * client may not use is `unauthorized_client` (RFC 6749 §5.2), and token responses are uncacheable
 * (RFC 6749 §5.1).
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, CONFIDENTIAL_SECRET, RP, type RunningService } from '../support/service.js';
import { Browser, type Page } from '../support/browser.js';
import { TEST_USER } from '../support/rp.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { systemClock } from '../../src/clock.js';
import { postMethodSupport } from '../../src/provider/post-methods.js';
import { GRANT_NOT_ALLOWED } from '../../src/http/token-response.js';

const VERIFIER = crypto.randomBytes(32).toString('base64url');
const CHALLENGE = crypto.createHash('sha256').update(VERIFIER).digest('base64url');

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

describe('which issuers accept POST at /auth', () => {
  it('https and loopback http issuers do; another http issuer does not, with a reason', () => {
    expect(postMethodSupport('https://id.example.no')).toEqual({ enabled: true, loopbackHttp: false });
    for (const issuer of ['http://localhost:3000', 'http://127.0.0.1:8080', 'http://[::1]:3000', 'http://app.localhost']) {
      expect(postMethodSupport(issuer)).toEqual({ enabled: true, loopbackHttp: true });
    }
    const off = postMethodSupport('http://idp.internal.example');
    expect(off.enabled).toBe(false);
    expect(off.reason).toMatch(/https issuer/);
  });
});

describe.each(dialects)('conformance on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    server = await startService({ db });
    await createLocalAccount(db, systemClock, { email: TEST_USER.email, name: TEST_USER.name, password: TEST_USER.password });
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  const authParams = (extra: Record<string, string | undefined> = {}) => {
    const all = { client_id: 'pub', response_type: 'code', redirect_uri: RP, scope: 'openid', state: 'st-1', code_challenge: CHALLENGE, code_challenge_method: 'S256', ...extra };
    return new URLSearchParams(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined));
  };

  /** Logs in on the page the authorization request led to and returns the RP callback URL. */
  async function loginFrom(browser: Browser, page: Page): Promise<URL> {
    if (page.html.includes('name="password"')) {
      page = await browser.submit(page, /\/login$/, { email: TEST_USER.email, password: TEST_USER.password });
    }
    expect(page.url.startsWith(RP)).toBe(true);
    return new URL(page.url);
  }

  const token = (body: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body) });

  it('refuses an authorization request without redirect_uri, even for a client with one registered URI', async () => {
    const res = await fetch(`${server.url}/auth?${authParams({ redirect_uri: undefined })}`, { redirect: 'manual', headers: { accept: 'text/html' } });
    // Without a redirect_uri the OP must not redirect anywhere: it shows the error itself.
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    const html = await res.text();
    expect(html).toContain('invalid_request');
    expect(html).toContain('redirect_uri');
  });

  it('refuses a token request that leaves out redirect_uri', async () => {
    const browser = new Browser(server.url);
    const callback = await loginFrom(browser, await browser.go(`${server.url}/auth?${authParams()}`));
    const code = callback.searchParams.get('code')!;
    const without = await token({ grant_type: 'authorization_code', client_id: 'pub', code, code_verifier: VERIFIER });
    expect(without.status).toBe(400);
    expect(await without.json()).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('redirect_uri') });
  });

  it('accepts a form POST to /auth, with a Secure SameSite=None session cookie, and single sign-on over POST', async () => {
    const browser = new Browser(server.url);
    const first = await browser.go(`${server.url}/auth`, { method: 'POST', body: authParams({ state: 'posted' }) });
    const callback = await loginFrom(browser, first);
    expect(callback.searchParams.get('state')).toBe('posted');
    expect(callback.searchParams.get('code')).toBeTruthy();

    // The session cookie must survive a cross-site form POST: SameSite=None, hence Secure.
    const cookies = browser.setCookieHeaders.filter((c) => /^_session=/.test(c));
    expect(cookies.length).toBeGreaterThan(0);
    for (const c of cookies) {
      expect(c).toMatch(/samesite=none/i);
      expect(c).toMatch(/;\s*secure/i);
      expect(c).toMatch(/httponly/i);
    }

    // A second POST with prompt=none is answered from the session, straight back to the RP.
    const sso = await browser.go(`${server.url}/auth`, { method: 'POST', body: authParams({ prompt: 'none', state: 'sso' }) });
    const ssoUrl = new URL(sso.url);
    expect(ssoUrl.origin + ssoUrl.pathname).toBe(RP);
    expect(ssoUrl.searchParams.get('state')).toBe('sso');
    expect(ssoUrl.searchParams.get('code')).toBeTruthy();
  });

  it('accepts POST at /session/end and shows the logout confirmation', async () => {
    const res = await fetch(`${server.url}/session/end`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: new URLSearchParams({ client_id: 'conf', post_logout_redirect_uri: 'http://127.0.0.1:8999/logged-out' }),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/<form[^>]*action="[^"]*\/session\/end\/confirm"/);
  });

  it('answers unauthorized_client for a grant type the client is not registered for', async () => {
    const cc = await token({ grant_type: 'client_credentials' }, { authorization: basic('conf', CONFIDENTIAL_SECRET) });
    expect(cc.status).toBe(400);
    expect(await cc.json()).toEqual({ error: 'unauthorized_client', error_description: GRANT_NOT_ALLOWED });

    const code = await token({ grant_type: 'authorization_code', code: 'x'.repeat(43), redirect_uri: RP }, { authorization: basic('machine', CONFIDENTIAL_SECRET) });
    expect(code.status).toBe(400);
    expect(((await code.json()) as { error: string }).error).toBe('unauthorized_client');
  });

  it('marks every token response uncacheable: Cache-Control no-store and Pragma no-cache', async () => {
    const ok = await token({ grant_type: 'client_credentials', scope: 'openid' }, { authorization: basic('machine', CONFIDENTIAL_SECRET) });
    expect(ok.status).toBe(200);
    const bad = await token({ grant_type: 'authorization_code', code: 'nope', redirect_uri: RP }, { authorization: basic('conf', CONFIDENTIAL_SECRET) });
    expect(bad.status).toBe(400);
    for (const res of [ok, bad]) {
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('pragma')).toBe('no-cache');
    }
  });
});

describe('an http issuer that is not loopback', () => {
  let db: TestDatabase;
  let server: RunningService;
  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    server = await startService({ db, env: { ISSUER: 'http://idp.internal.example' } });
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  it('keeps POST /auth off and says why in the log', async () => {
    const line = server.logs.map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => l.msg.startsWith('HTTP POST to /auth'));
    expect(line?.level).toBe(40);
    expect(line?.msg).toMatch(/not loopback.*https issuer/);
    const port = new URL(server.url).port;
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/auth', method: 'POST', headers: { host: 'idp.internal.example', 'content-type': 'application/x-www-form-urlencoded' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(authParamsString());
    });
    expect([400, 404, 405, 421]).toContain(status);
  });
});

function authParamsString(): string {
  return new URLSearchParams({ client_id: 'pub', response_type: 'code', redirect_uri: RP, scope: 'openid', code_challenge: CHALLENGE, code_challenge_method: 'S256' }).toString();
}
