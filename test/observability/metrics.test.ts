/**
 * Prometheus metrics, black-box on each dialect: after a registration, a login, wrong passwords up to a
 * throttling refusal and token calls, a scrape of /metrics shows exactly those counts under exactly the
 * expected label sets; no label value (nor anything else in the scrape) holds the e-mail address or a
 * client's made-up grant_type; requests are labelled by route template; the database pool is reported.
 */
import { ManualClock } from '../support/manual-clock.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { CONFIDENTIAL_SECRET, freePort, startService, type RunningService } from '../support/service.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';
import { beginLogin, registerThrough } from '../support/local-accounts.js';
import { parseExposition, samplesOf } from './exposition.js';

const TOKEN = 'metrics-token-0123456789abcdef0123456789';
const EMAIL = 'kari.metrics@example.no';
const REGISTERED = 'ola.metrics@example.no';
const PASSWORD = 'RightPass1';

describe.each(dialects)('metrics on %s', (dialect) => {
  let db: TestDatabase;
  let smtp: TestSmtp;
  let server: RunningService;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    smtp = await startSmtp();
    // One free failure per account: the third wrong password is a throttling refusal.
    server = await startService({ db, clock, env: { SMTP_URL: smtp.url, METRICS_TOKEN: TOKEN, LOGIN_FREE_FAILURES: '1' } });
    await createLocalAccount(db, clock, { email: EMAIL, name: 'Kari Metrics', password: PASSWORD });
  });
  afterAll(async () => {
    await server.close();
    await smtp.close();
    await db.close();
  });

  const scrape = async () => {
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };
  const token = (body: Record<string, string>, auth = `Basic ${Buffer.from(`machine:${CONFIDENTIAL_SECRET}`).toString('base64')}`) =>
    fetch(`${server.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth }, body: new URLSearchParams(body) });

  test('a login, a refusal and token calls move exactly their counters; no address or client text in any label', async () => {
    // A registration (one mail, started and completed) whose login is redeemed: an authorization_code token.
    const registration = await beginLogin(server);
    const callback = await registerThrough(registration, smtp, { email: REGISTERED, password: 'OtherPass2', name: 'Ola Metrics' });
    await registration.redeem(callback);

    // A password login that succeeds, then wrong passwords until the throttle refuses.
    const login = await beginLogin(server);
    const done = await login.browser.submit(login.page, /\/login$/, { email: EMAIL, password: PASSWORD });
    await login.redeem(done);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const attempt = await beginLogin(server);
      statuses.push((await attempt.browser.submit(attempt.page, /\/login$/, { email: EMAIL, password: 'WrongPass9' })).status);
    }
    expect(statuses).toEqual([401, 401, 429]);

    // Client credentials, a wrong secret, and a made-up grant type that carries an address.
    expect((await token({ grant_type: 'client_credentials', scope: 'openid' })).status).toBe(200);
    expect((await token({ grant_type: 'client_credentials' }, `Basic ${Buffer.from('machine:wrong').toString('base64')}`)).status).toBe(401);
    expect((await token({ grant_type: `urn:${EMAIL}` })).status).toBe(400);
    // A path nobody answers, made of client text: one `other` series, whatever the path.
    expect((await fetch(`${server.url}/no/such/${EMAIL}`)).status).toBe(404);
    expect((await fetch(`${server.url}/interaction/${'x'.repeat(43)}/nope`)).status).toBe(404);

    const text = await scrape();
    const samples = parseExposition(text);
    expect(samplesOf(samples, 'nordlys_logins_total')).toEqual([
      { labels: { method: 'local', outcome: 'success', acr: 'low' }, value: 1 },
      { labels: { method: 'local', outcome: 'failure', acr: 'none' }, value: 3 },
    ]);
    expect(samplesOf(samples, 'nordlys_login_refusals_total')).toEqual([{ labels: { reason: 'throttled' }, value: 1 }]);
    expect(samplesOf(samples, 'nordlys_tokens_issued_total')).toEqual([
      { labels: { grant_type: 'authorization_code' }, value: 2 },
      { labels: { grant_type: 'client_credentials' }, value: 1 },
    ]);
    expect(samplesOf(samples, 'nordlys_oidc_errors_total')).toEqual([
      { labels: { endpoint: 'grant.error', error: 'invalid_client' }, value: 1 },
      { labels: { endpoint: 'grant.error', error: 'unsupported_grant_type' }, value: 1 },
    ]);
    expect(samplesOf(samples, 'nordlys_local_account_flows_total')).toEqual([
      { labels: { flow: 'registration', stage: 'started' }, value: 1 },
      { labels: { flow: 'registration', stage: 'completed' }, value: 1 },
    ]);
    expect(samplesOf(samples, 'nordlys_mails_total')).toEqual([{ labels: { outcome: 'sent' }, value: 1 }]);

    // Requests by route template: the login form and the token endpoint, never a raw /interaction/<uid> path.
    const routes = new Set(samplesOf(samples, 'nordlys_http_request_duration_seconds_count').map((s) => s.labels.route));
    expect([...routes]).toEqual(expect.arrayContaining(['/interaction/:uid/login', '/token', '/auth', '/auth/:uid', '/interaction/:uid', '/interaction/:uid/register/:flow/code']));
    const tokenPosts = samplesOf(samples, 'nordlys_http_request_duration_seconds_count').filter((s) => s.labels.route === '/token');
    expect(tokenPosts).toEqual([
      { labels: { route: '/token', method: 'POST', status: '2xx' }, value: 3 },
      { labels: { route: '/token', method: 'POST', status: '4xx' }, value: 2 },
    ]);
    expect(samplesOf(samples, 'nordlys_http_request_duration_seconds_count').filter((s) => s.labels.route === 'other')).toEqual([
      { labels: { route: 'other', method: 'GET', status: '4xx' }, value: 2 },
    ]);
    for (const route of routes) expect(route).not.toMatch(/\/interaction\/[A-Za-z0-9_-]{10,}/);

    // The pool and the process defaults (event-loop lag among them) are there.
    expect(samplesOf(samples, 'nordlys_db_pool_in_use')).toHaveLength(1);
    expect(samplesOf(samples, 'nordlys_db_pool_waiting')).toEqual([{ labels: {}, value: 0 }]);
    expect(samplesOf(samples, 'nordlys_nodejs_eventloop_lag_seconds')).toHaveLength(1);
    expect(samplesOf(samples, 'nordlys_process_cpu_seconds_total')).toHaveLength(1);

    // No label value holds an address or client-chosen text; neither does any other part of the scrape.
    const values = samples.flatMap((s) => Object.values(s.labels));
    for (const v of values) expect(v).not.toMatch(/@|example\.no|metrics@/);
    expect(text).not.toContain('example.no');
    expect(text).not.toContain('urn:kari');
  });
});

describe('who may scrape', () => {
  let db: TestDatabase;
  const servers: RunningService[] = [];
  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    await db.close();
  });
  const start = async (env: Record<string, string>) => {
    const s = await startService({ db, env });
    servers.push(s);
    return s;
  };

  test('METRICS_TOKEN on the main port: 401 without it or with a wrong one, 200 with it', async () => {
    const s = await start({ METRICS_TOKEN: TOKEN });
    const without = await fetch(`${s.url}/metrics`);
    expect(without.status).toBe(401);
    expect(without.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    expect((await without.text())).not.toContain('nordlys_');
    for (const wrong of [`Bearer ${TOKEN.slice(0, -1)}`, `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, TOKEN, 'Bearer ']) {
      expect([wrong, (await fetch(`${s.url}/metrics`, { headers: { authorization: wrong } })).status]).toEqual([wrong, 401]);
    }
    const ok = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('# TYPE nordlys_logins_total counter');
  });

  test('METRICS_PORT serves /metrics on its own listener (behind the token when set); the main port then 404s it', async () => {
    const port = await freePort();
    const s = await start({ METRICS_PORT: String(port), METRICS_TOKEN: TOKEN });
    const metricsOrigin = `http://127.0.0.1:${port}`;
    expect((await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    expect((await fetch(`${metricsOrigin}/metrics`)).status).toBe(401);
    const ok = await fetch(`${metricsOrigin}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    const text = await ok.text();
    // The main port's request to /metrics was counted there as the fixed route `/metrics`, not as a page.
    expect(samplesOf(parseExposition(text), 'nordlys_http_request_duration_seconds_count')).toEqual([
      { labels: { route: '/metrics', method: 'GET', status: '4xx' }, value: 1 },
    ]);
    expect((await fetch(`${metricsOrigin}/healthz`)).status).toBe(404);
    expect((await fetch(`${metricsOrigin}/.well-known/openid-configuration`)).status).toBe(404);

    const open = await start({ METRICS_PORT: String(await freePort()) });
    expect((await fetch(`http://127.0.0.1:${open.config.metrics.port}/metrics`)).status).toBe(200);
  });

  test('without METRICS_TOKEN and METRICS_PORT there are no metrics: /metrics is 404', async () => {
    const s = await start({});
    const res = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('nordlys_');
  });
});
