/**
 * Metrics of the eID logins, against the built-in mocks on a real port, on each dialect: an ID-porten
 * login counts its acr; MinID where level 4 is required, an upstream error and the foreign eID are
 * refusals by reason; ID-porten's discovery, token and JWKS calls and BankID's auth, collect and cancel
 * are timed per broker; the mock's pages are one `mock` route, whatever their paths.
 */
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { atMock, begin, chooseMethod, eidClientsFile, redeem } from '../brokers/eid-support.js';
import { parseExposition, samplesOf } from './exposition.js';

const TOKEN = 'metrics-token-0123456789abcdef0123456789';

describe.each(dialects)('eID metrics on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    server = await startService({ db, clientsFile: eidClientsFile(), env: { MOCKS_ENABLED: 'true', METRICS_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  const scrape = async () => {
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    return parseExposition(await res.text());
  };

  test('logins, refusals by reason and upstream durations per broker and call', async () => {
    // ID-porten: a BankID login (high), MinID where level 4 is required, an upstream error.
    const ok = await begin(server.url, 'eid-only');
    await redeem(ok, await atMock(ok, await chooseMethod(ok, ok.page, 'idporten'), { eid: 'bankid' }));
    const low = await begin(server.url, 'udi');
    expect((await atMock(low, await chooseMethod(low, low.page, 'idporten'), { action: 'misbehave' })).html).toContain('requires security level 4');
    const broken = await begin(server.url, 'eid-only');
    expect((await atMock(broken, await chooseMethod(broken, broken.page, 'idporten'), { action: 'error' })).status).toBe(502);
    // The foreign eID, refused by design.
    const foreign = await begin(server.url, 'foreign');
    expect((await chooseMethod(foreign, foreign.page, 'foreign-eid')).html).toContain('International electronic IDs cannot be used');
    // BankID: an order (auth), one look at it (collect), then cancel.
    const bankid = await begin(server.url, 'se', { scope: 'openid profile https://id.oidc.se/scope/naturalPersonNumber' });
    const waiting = await chooseMethod(bankid, bankid.page, 'bankid-se');
    expect(waiting.url).toMatch(/\/bankid$/);
    expect((await bankid.browser.submit(waiting, /\/bankid\/cancel$/, {})).status).toBe(200);

    const samples = await scrape();
    expect(samplesOf(samples, 'nordlys_logins_total')).toEqual([
      { labels: { method: 'idporten', outcome: 'success', acr: 'high' }, value: 1 },
      { labels: { method: 'idporten', outcome: 'failure', acr: 'none' }, value: 2 },
      { labels: { method: 'foreign-eid', outcome: 'failure', acr: 'none' }, value: 1 },
    ]);
    expect(samplesOf(samples, 'nordlys_login_refusals_total')).toEqual([
      { labels: { reason: 'level_too_low' }, value: 1 },
      { labels: { reason: 'upstream_error' }, value: 1 },
      { labels: { reason: 'foreign_eid' }, value: 1 },
    ]);
    const upstream = samplesOf(samples, 'nordlys_upstream_request_duration_seconds_count');
    const count = (broker: string, call: string) => upstream.find((s) => s.labels.broker === broker && s.labels.call === call && s.labels.outcome === 'ok')?.value;
    // Discovery once (cached), a token call for each id_token (the refused MinID login included), and the
    // JWKS fetched (then cached) to verify the id_token's signature, which the broker checks.
    expect(count('idporten', 'discovery')).toBe(1);
    expect(count('idporten', 'token')).toBe(2);
    expect(count('idporten', 'jwks')).toBe(1);
    expect(count('bankid-se', 'auth')).toBe(1);
    expect(count('bankid-se', 'collect')).toBe(1);
    expect(count('bankid-se', 'cancel')).toBe(1);
    for (const s of upstream) {
      expect(Object.keys(s.labels).sort()).toEqual(['broker', 'call', 'outcome']);
      expect(['discovery', 'token', 'jwks', 'auth', 'collect', 'cancel']).toContain(s.labels.call);
      expect(s.labels.outcome).toBe('ok');
    }
    const routes = new Set(samplesOf(samples, 'nordlys_http_request_duration_seconds_count').map((s) => s.labels.route));
    expect(routes.has('mock')).toBe(true);
    expect([...routes].filter((r) => r!.includes('mock'))).toEqual(['mock']);
    expect(routes.has('/broker/:broker/callback')).toBe(true);
  });
});
