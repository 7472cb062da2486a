/**
 * The Swedish level we claim for a BankID login is honest, on each dialect and for both settings of
 * BANKID_SWEDEN_CONNECT_CERTIFIED: a relying party (openid-client) logs in through the BankID mock and
 * reads the id_token's acr, and discovery's acr_values_supported. Not certified (the default): the
 * self-declared `http://id.swedenconnect.se/loa/1.0/uncertified-loa3`, and no certified
 * `http://id.elegnamnden.se/loa/1.0/…` value anywhere. Declared certified: `…/loa/1.0/loa3`.
 */
import { loadConfig } from '../../src/config/index.js';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { ManualClock } from '../support/manual-clock.js';
import { COLLECT_INTERVAL_MS } from '../../src/brokers/bankid-se/broker.js';
import { startService, writeClientsFile, type RunningService } from '../support/service.js';
import { Browser, type Page } from '../support/browser.js';
import { begin, chooseMethod, eidClients, redeem, type Flow } from './eid-support.js';

const ASTRID = '198507099821';
const APP_ORDER = /\/mock\/bankid\/app\/[0-9a-f-]{36}$/;
const CERTIFIED_LOA3 = 'http://id.elegnamnden.se/loa/1.0/loa3';
const UNCERTIFIED_LOA3 = 'http://id.swedenconnect.se/loa/1.0/uncertified-loa3';

const settings = dialects.flatMap((dialect) => [
  { dialect, certified: false, loa3: UNCERTIFIED_LOA3 },
  { dialect, certified: true, loa3: CERTIFIED_LOA3 },
]);

describe.each(settings)('BankID level on $dialect, certified=$certified', ({ dialect, certified, loa3 }) => {
  let db: TestDatabase;
  let server: RunningService;
  // BankID is collected at most every 2 s of this clock: each status poll moves it on.
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    const se = eidClients.find((c) => c.client_id === 'se')!;
    // A Swedish relying party that speaks Sweden Connect's vocabulary by default.
    const clientsFile = writeClientsFile([...eidClients, { ...se, client_id: 'se-swedish', acr_vocabulary: 'swedish' }]);
    server = await startService({
      db,
      clock,
      clientsFile,
      env: { MOCKS_ENABLED: 'true', ...(certified ? { BANKID_SWEDEN_CONNECT_CERTIFIED: 'true' } : {}) },
    });
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  async function status(flow: Flow, page: Page) {
    clock.advance(COLLECT_INTERVAL_MS);
    const path = new URL(page.url).pathname;
    const res = await fetch(new URL(`${path}/status`, server.url), {
      headers: { accept: 'application/json', cookie: (flow.browser as unknown as { cookieHeader(p: string): string }).cookieHeader(path) },
    });
    return (await res.json()) as { status: string; redirect?: string };
  }

  async function bankidLogin(clientId: string, params: Record<string, string>) {
    const flow = await begin(server.url, clientId, { scope: 'openid', ...params });
    const page = await chooseMethod(flow, flow.page, 'bankid-se');
    const qr = /<code id="bankid-qr-data">([^<]+)<\/code>/.exec(page.html)![1]!;
    const tester = new Browser(server.url);
    const opened = await tester.go(`${server.url}/mock/bankid/app?qr=${encodeURIComponent(qr)}`);
    const identified = await tester.submit(opened, APP_ORDER, { action: 'identify', person: ASTRID });
    await tester.submit(identified, APP_ORDER, { action: 'approve' });
    const done = await status(flow, page);
    expect(done.status).toBe('complete');
    return (await redeem(flow, await flow.browser.go(done.redirect!))).claims;
  }

  test('discovery lists only the Swedish values this service may issue', async () => {
    const discovery = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as { acr_values_supported: string[] };
    const swedish = discovery.acr_values_supported.filter((v) => v.includes('elegnamnden') || v.includes('swedenconnect'));
    if (certified) {
      expect(swedish).toEqual(['http://id.elegnamnden.se/loa/1.0/loa2', CERTIFIED_LOA3, 'http://id.elegnamnden.se/loa/1.0/loa4']);
    } else {
      expect(swedish).toEqual(['http://id.swedenconnect.se/loa/1.0/uncertified-loa2', UNCERTIFIED_LOA3]);
    }
    expect(discovery.acr_values_supported).toEqual(expect.arrayContaining(['low', 'substantial', 'high', 'idporten-loa-high', 'Level4']));
  });

  test.each([
    ['acr_values in either Swedish spelling', 'se', { acr_values: CERTIFIED_LOA3 }],
    ['acr_values uncertified-loa3', 'se', { acr_values: UNCERTIFIED_LOA3 }],
    ['the client’s default vocabulary', 'se-swedish', {}],
  ])('a BankID login asked by %s gets the honest Swedish acr', async (_label, clientId, params) => {
    const claims = await bankidLogin(clientId, params);
    expect(claims.acr).toBe(loa3);
    expect(claims.amr).toEqual(['BankID']);
  });

  test('in eIDAS terms a BankID login is substantial whatever the certification', async () => {
    expect((await bankidLogin('se', { acr_values: 'substantial' })).acr).toBe('substantial');
  });
});

describe('BANKID_SWEDEN_CONNECT_CERTIFIED', () => {
  test('defaults to not certified; only true or false is accepted, and an error names the variable', () => {
    expect(loadConfig({}).compliance.bankidSwedenConnectCertified).toBe(false);
    expect(loadConfig({ BANKID_SWEDEN_CONNECT_CERTIFIED: 'true' }).compliance.bankidSwedenConnectCertified).toBe(true);
    expect(() => loadConfig({ BANKID_SWEDEN_CONNECT_CERTIFIED: 'maybe' })).toThrow(/BANKID_SWEDEN_CONNECT_CERTIFIED: must be true or false/);
  });
});
