/**
 * Client addresses from trusted proxies only, black-box against a running service: a client that
 * rotates its own X-Forwarded-For entry stays under the per-IP login throttle (the real address is the
 * rightmost untrusted hop), the audit log and BankID's endUserIp get that same address, junk headers
 * are a clean 400 and are never stored, requests for another host are refused before anything builds
 * a URL from them, and an https issuer is served over https from a trusted proxy only.
 */
import http from 'node:http';
import { ManualClock } from '../support/manual-clock.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { Browser } from '../support/browser.js';
import { beginLogin } from '../support/local-accounts.js';
import { begin, chooseMethod, eidClientsFile } from '../brokers/eid-support.js';

/** What a proxy in front of the service sends: the client's own header, with the real peer appended. */
class ProxiedBrowser extends Browser {
  constructor(origin: string, private readonly forwarded: Record<string, string>) {
    super(origin);
  }
  override go(url: string, init: Parameters<Browser['go']>[1] = {}) {
    return super.go(url, { ...init, headers: { ...init.headers, ...this.forwarded } });
  }
}

/** A raw request, so the test can send any Host header (fetch would not). */
function raw(base: string, path: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname + url.search, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const REAL = '203.0.113.7';
const OTHER = '203.0.113.8';

describe('per-IP limits see the real client behind a trusted proxy', () => {
  let db: TestDatabase;
  let server: RunningService;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    // Three free failures per account, twelve per IP address; the test itself is the proxy (loopback).
    server = await startService({ db, clock: new ManualClock(Date.now()), env: { LOGIN_FREE_FAILURES: '3', LOGIN_MAX_DELAY_SECONDS: '120', TRUSTED_PROXIES: 'loopback' } });
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  const failedLogin = async (i: number, forwardedFor: string) => {
    const login = await beginLogin(server, { browser: new ProxiedBrowser(server.url, { 'x-forwarded-for': forwardedFor }) });
    return (await login.browser.submit(login.page, /\/login$/, { email: `spray-${i}@example.no`, password: 'Password1' })).status;
  };

  test('12 failed logins with a rotating forged X-Forwarded-For entry: 0 get past the throttle', async () => {
    const warmUp: number[] = [];
    for (let i = 0; i < 13; i += 1) warmUp.push(await failedLogin(i, REAL));
    expect(warmUp).toEqual(Array(13).fill(401));
    // Before TRUSTED_PROXIES (TRUST_PROXY=true, leftmost entry), all 12 of these were answered 401: let through.
    const spoofed: number[] = [];
    for (let i = 0; i < 12; i += 1) spoofed.push(await failedLogin(100 + i, `198.51.100.${i + 1}, ${REAL}`));
    expect(spoofed.filter((s) => s !== 429)).toEqual([]);
    // The limit is the real address's, not everybody's: another client behind the same proxy is let in.
    expect(await failedLogin(200, `198.51.100.1, ${OTHER}`)).toBe(401);

    const audited = await db.knex('audit_events').where({ event: 'login.password' }).select('ip');
    expect(new Set(audited.map((r: { ip: string }) => r.ip))).toEqual(new Set([REAL, OTHER]));
    const keys = (await db.knex('rate_limits').select('key')).map((r: { key: string }) => r.key);
    expect(keys.filter((k) => k.startsWith('login:ip:'))).toEqual(expect.arrayContaining([`login:ip:${REAL}`, `login:ip:${OTHER}`]));
    expect(keys.some((k) => k.includes('198.51.100'))).toBe(false);
  });

  test.each([
    ['X-Forwarded-For with markup', { 'x-forwarded-for': '<script>alert(1)</script>' }, 'X-Forwarded-For holds an entry that is not an IP address'],
    ['an overlong X-Forwarded-For', { 'x-forwarded-for': `${'198.51.100.1, '.repeat(100)}${REAL}` }, 'X-Forwarded-For is too long'],
    ['two X-Forwarded-Proto values', { 'x-forwarded-proto': 'https, http' }, 'X-Forwarded-Proto must be one value, http or https'],
    ['two X-Forwarded-Host values', { 'x-forwarded-host': 'evil.example, 127.0.0.1' }, 'X-Forwarded-Host must be one valid host'],
  ])('%s from the trusted proxy is a clean 400, never stored', async (_what, headers, message) => {
    const before = await db.knex('audit_events').count({ n: '*' }).first();
    const page = await raw(server.url, '/auth?client_id=pub', { ...headers, accept: 'application/json' });
    expect(page.status).toBe(400);
    expect(JSON.parse(page.body)).toEqual({ error: 'bad_request', message });
    const html = await raw(server.url, '/auth?client_id=pub', headers);
    expect([html.status, html.headers['content-type']]).toEqual([400, 'text/html; charset=utf-8']);
    expect(await db.knex('audit_events').count({ n: '*' }).first()).toEqual(before);
    const stored = JSON.stringify([await db.knex('rate_limits').select(), await db.knex('audit_events').select()]);
    expect(stored).not.toMatch(/script|evil\.example/);
  });

  test('BankID is asked for the real client address (endUserIp)', async () => {
    const mocked = await startService({ db, clientsFile: eidClientsFile(), env: { MOCKS_ENABLED: 'true', TRUSTED_PROXIES: 'loopback' } });
    try {
      const browser = new ProxiedBrowser(mocked.url, { 'x-forwarded-for': `198.51.100.99, ${OTHER}` });
      const flow = await begin(mocked.url, 'se', { scope: 'openid profile https://id.oidc.se/scope/naturalPersonNumber' }, browser);
      const page = await chooseMethod(flow, flow.page, 'bankid-se');
      expect(page.url).toMatch(/\/bankid$/);
      // BankID's side: the tester's app shows the address the order was asked for.
      const qr = /<code id="bankid-qr-data">([^<]+)<\/code>/.exec(page.html)![1]!;
      const order = await new Browser(mocked.url).go(`/mock/bankid/app?qr=${encodeURIComponent(qr)}`);
      expect(order.html).toContain(`<code>${OTHER}</code>`);
      expect(order.html).not.toContain('198.51.100.99');
      expect(JSON.stringify(await db.knex('oidc_payloads').select('payload'))).not.toContain('198.51.100.99');
    } finally {
      await mocked.close();
    }
  });
});

describe('only the issuer\'s host is answered; URLs come from ISSUER', () => {
  let db: TestDatabase;
  let server: RunningService;
  let untrusted: RunningService;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    server = await startService({ db, env: { TRUSTED_PROXIES: 'loopback' } });
    // Here the peer (127.0.0.1) is not a trusted proxy, so its X-Forwarded-* count for nothing.
    untrusted = await startService({ db, env: { TRUSTED_PROXIES: '192.0.2.1' } });
  });
  afterAll(async () => {
    await server.close();
    await untrusted.close();
    await db.close();
  });

  // Discovery was once `no-store` because its URLs followed the Host header. They no longer do: every
  // request that gets through has the issuer's host, so one cached copy (with an ETag) fits everyone.
  test('discovery for the issuer\'s host is the issuer\'s, the same document whatever the port, so it may be cached', async () => {
    const res = await fetch(`${server.url}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    const meta = (await res.json()) as Record<string, string>;
    expect(meta.token_endpoint).toBe(`${server.config.issuer}/token`);
    // The issuer's host name on another port (a direct hit on the instance): still the issuer's URLs.
    const direct = await raw(server.url, '/.well-known/openid-configuration', { host: '127.0.0.1:1' });
    expect((JSON.parse(direct.body) as Record<string, string>).authorization_endpoint).toBe(`${server.config.issuer}/auth`);
    expect(direct.headers.etag).toBe(res.headers.get('etag'));
  });

  test.each([
    ['Host', () => ({ host: 'evil.example' })],
    ['Host with the issuer\'s port', (s: RunningService) => ({ host: `evil.example:${new URL(s.url).port}` })],
    ['trusted X-Forwarded-Host', () => ({ 'x-forwarded-host': 'evil.example' })],
  ])('another %s: 400 for discovery, authorization and our pages', async (_what, headers) => {
    for (const path of ['/.well-known/openid-configuration', '/auth?client_id=pub', '/interaction/x', '/nowhere']) {
      const res = await raw(server.url, path, { ...headers(server), accept: 'application/json' });
      expect([path, res.status, res.body]).toEqual([path, 400, JSON.stringify({ error: 'bad_request', message: `this service answers for ${new URL(server.config.issuer).host} only` })]);
      expect(res.body).not.toContain('evil.example');
    }
  });

  test('health and readiness answer whatever the Host (orchestrators call them by address)', async () => {
    for (const path of ['/healthz', '/readyz']) expect((await raw(server.url, path, { host: '10.1.2.3:3000' })).status).toBe(200);
  });

  test('from an untrusted peer, X-Forwarded-Host and -Proto are ignored: Host decides, URLs stay the issuer\'s', async () => {
    const res = await raw(untrusted.url, '/.well-known/openid-configuration', { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' });
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as Record<string, string>).token_endpoint).toBe(`${untrusted.config.issuer}/token`);
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });
});

describe('an https issuer behind a TLS-terminating proxy', () => {
  let db: TestDatabase;
  let server: RunningService;
  let untrusted: RunningService;
  const viaProxy = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'id.example.test' };

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    server = await startService({ db, env: { ISSUER: 'https://id.example.test', TRUSTED_PROXIES: 'loopback' } });
    untrusted = await startService({ db, env: { ISSUER: 'https://id.example.test', TRUSTED_PROXIES: '10.0.0.0/8' } });
  });
  afterAll(async () => {
    await server.close();
    await untrusted.close();
    await db.close();
  });

  test('https from the trusted proxy: https endpoints, Secure cookies, HSTS', async () => {
    const meta = (await (await fetch(`${server.url}/.well-known/openid-configuration`, { headers: viaProxy })).json()) as Record<string, string>;
    expect(meta.issuer).toBe('https://id.example.test');
    for (const key of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'end_session_endpoint']) {
      expect(meta[key]).toMatch(/^https:\/\/id\.example\.test\//);
    }
    const auth = new URL('/auth', server.url);
    auth.search = new URLSearchParams({ client_id: 'conf', response_type: 'code', scope: 'openid', redirect_uri: 'http://127.0.0.1:8999/callback', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }).toString();
    const res = await fetch(auth, { headers: viaProxy, redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^https:\/\/id\.example\.test\/interaction\/|^\/interaction\//);
    expect(res.headers.getSetCookie().length).toBeGreaterThan(0);
    expect(res.headers.getSetCookie().every((c) => /;\s*secure/i.test(c))).toBe(true);
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/);
  });

  test('plain http is refused (400), and HSTS is sent even then', async () => {
    const res = await raw(server.url, '/.well-known/openid-configuration', { host: 'id.example.test', accept: 'application/json' });
    expect([res.status, JSON.parse(res.body)]).toEqual([400, { error: 'bad_request', message: 'this service answers over https only' }]);
    expect(res.headers['strict-transport-security']).toMatch(/max-age=/);
  });

  test('X-Forwarded-Proto: https from a peer that is not a trusted proxy does not make it https', async () => {
    const res = await raw(untrusted.url, '/.well-known/openid-configuration', { ...viaProxy, host: 'id.example.test', accept: 'application/json' });
    expect([res.status, JSON.parse(res.body)]).toEqual([400, { error: 'bad_request', message: 'this service answers over https only' }]);
  });
});
