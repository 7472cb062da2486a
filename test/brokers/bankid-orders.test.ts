/**
 * BankID orders shared by instances, on each dialect: two instances behind a load balancer, both
 * configured (BANKID_BASE_URL) for one BankID mock on a port of its own, with a proxy in front of it that
 * counts what reaches BankID. The tester's app opens each order by its autostart token. Concurrent polls on both instances collect at most once per 2-second
 * window and none records a failure for an order that completed; an order whose interaction expired is
 * cancelled upstream once, whether the next request or the sweepers (two at once) notice.
 */
import { disabledMetrics } from '../../src/observability/metrics.js';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { startCountingProxy, type CountingProxy } from '../support/counting-proxy.js';
import { Browser, type Page } from '../support/browser.js';
import { ManualClock } from '../support/manual-clock.js';
import { createLogger } from '../../src/logger.js';
import { createAuditLog } from '../../src/store/audit.js';
import { createFederatedAccountRepository } from '../../src/store/federated-accounts.js';
import { createDecoupledOrders } from '../../src/store/decoupled-orders.js';
import { COLLECT_INTERVAL_MS } from '../../src/brokers/bankid-se/broker.js';
import { bankidMethod } from '../../src/brokers/bankid-se/method.js';
import { methodRegistry } from '../../src/brokers/registry.js';
import { createDecoupledFlow } from '../../src/interactions/decoupled-flow.js';
import { createUpstreamLogins } from '../../src/interactions/upstream-login.js';
import type { Database } from '../../src/store/db.js';
import { startBankidMock, type RunningBankidMock } from '../../mocks/bankid-se/index.js';
import { begin, chooseMethod, eidClientsFile, redeem, type Flow } from './eid-support.js';

const ASTRID = '198507099821';
const APP_ORDER = /\/app\/[0-9a-f-]{36}$/;
const TTL_SECONDS = 60;

describe.each(dialects)('BankID orders on two instances on %s', (dialect) => {
  let db: TestDatabase;
  let twin: Database;
  let a: RunningService;
  let b: RunningService;
  let bankid: RunningBankidMock;
  /** In front of BankID: what it saw and said. */
  let proxy: CountingProxy;
  /** In front of the two instances: the issuer's URL. */
  let balancer: CountingProxy;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    twin = db.openTwin();
    bankid = await startBankidMock({ now: () => clock.now() });
    proxy = await startCountingProxy();
    proxy.targets.push(bankid.url);
    balancer = await startCountingProxy();
    const clientsFile = eidClientsFile();
    const env = { BANKID_BASE_URL: `${proxy.url}/rp/v6.0`, INTERACTION_TTL_SECONDS: String(TTL_SECONDS) };
    a = await startService({ db, clock, issuerPort: balancer.port, clientsFile, env });
    b = await startService({ db: twin, clock, issuerPort: balancer.port, clientsFile, env });
    balancer.targets.push(a.url, b.url);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await balancer.close();
    await proxy.close();
    await bankid.close();
    await twin.close();
    await db.close();
  });

  const uidOf = (page: Page) => /\/interaction\/([^/]+)\/bankid/.exec(page.url)![1]!;
  const orderRefOf = async (page: Page) => String((await db.knex('decoupled_orders').where({ uid: uidOf(page) }).first()).order_ref);
  const start = async () => {
    const flow = await begin(balancer.url, 'se', { scope: 'openid profile https://id.oidc.se/scope/naturalPersonNumber' });
    const page = await chooseMethod(flow, flow.page, 'bankid-se');
    // "Open BankID on this device": the link starts the app with the order's autostart token.
    const link = /id="bankid-autostart" href="([^"]+)"/.exec(page.html)![1]!;
    const launch = new URL((await flow.browser.go(link)).url);
    expect(launch.protocol).toBe('bankid:');
    const tester = new Browser(bankid.url);
    const opened = await tester.go(`/app?autostarttoken=${encodeURIComponent(launch.searchParams.get('autostarttoken')!)}`);
    expect(opened.url).toMatch(APP_ORDER);
    const identified = await tester.submit(opened, APP_ORDER, { action: 'identify', person: ASTRID });
    return { flow, page, orderRef: await orderRefOf(page), approve: () => tester.submit(identified, APP_ORDER, { action: 'approve' }) };
  };
  /** One poll of the page's script, sent straight to instance A or B with the browser's cookies. */
  const poll = async (flow: Flow, page: Page, on: RunningService) => {
    const path = `${new URL(page.url).pathname}/status`;
    const cookie = (flow.browser as unknown as { cookieHeader(p: string): string }).cookieHeader(path);
    const res = await fetch(new URL(path, on.url), { headers: { accept: 'application/json', cookie } });
    return { code: res.status, ...((await res.json()) as { status: string; message?: string; redirect?: string }) };
  };
  const burst = (flow: Flow, page: Page) => Promise.all(Array.from({ length: 12 }, (_, i) => poll(flow, page, i % 2 ? a : b)));

  test('concurrent polls on both instances: one collect per window, and the completed login is never a failure', async () => {
    const { flow, page, orderRef, approve } = await start();
    const base = proxy.calls('collect', orderRef);
    for (let window = 1; window <= 3; window += 1) {
      clock.advance(COLLECT_INTERVAL_MS);
      const answers = await burst(flow, page);
      expect(answers.map((x) => x.status)).toEqual(Array(12).fill('pending'));
      expect(proxy.calls('collect', orderRef)).toBe(base + window);
    }
    await approve();
    clock.advance(COLLECT_INTERVAL_MS);
    const racing = await burst(flow, page);
    expect(proxy.calls('collect', orderRef)).toBe(base + 4);
    expect(racing.filter((x) => x.status !== 'pending' && x.status !== 'complete')).toEqual([]);
    expect(racing.some((x) => x.status === 'complete')).toBe(true);
    // Afterwards every poll, on either instance and in any window, reads the completed login: no more collects.
    clock.advance(COLLECT_INTERVAL_MS);
    const after = await burst(flow, page);
    expect(new Set(after.map((x) => x.status))).toEqual(new Set(['complete']));
    expect(new Set(after.map((x) => x.redirect))).toEqual(new Set([racing.find((x) => x.status === 'complete')!.redirect]));
    expect(proxy.calls('collect', orderRef)).toBe(base + 4);
    const audit = await db.knex('audit_events').where({ event: 'login.bankid-se' });
    expect(audit.map((e: { outcome: string }) => e.outcome)).toEqual(['success']);

    const { userinfo } = await redeem(flow, await flow.browser.go(after[0]!.redirect!));
    expect(userinfo['https://id.oidc.se/claim/personalIdentityNumber']).toBe(ASTRID);
  });

  test('the interaction expired: the next request notices and cancels the order upstream, once', async () => {
    const { flow, page, orderRef } = await start();
    clock.advance((TTL_SECONDS + 1) * 1000);
    const answers = await burst(flow, page);
    expect(answers.map((x) => [x.code, x.status])).toEqual(Array(12).fill([410, 'ended']));
    expect(proxy.calls('cancel', orderRef)).toBe(1);
    expect(proxy.answers('cancel', orderRef)).toEqual([200]);
    expect(await db.knex('decoupled_orders').where({ order_ref: orderRef })).toEqual([]);
  });

  test('the interaction expired: two sweepers at once cancel the order upstream once and delete it', async () => {
    const { orderRef } = await start();
    clock.advance((TTL_SECONDS + 1) * 1000);
    const settings = { baseUrl: `${proxy.url}/rp/v6.0`, mockUrl: undefined, appUrl: undefined, pfxFile: undefined, passphrase: undefined, caFile: undefined, timeoutMs: 5000 };
    const methods = methodRegistry(await bankidMethod.open(settings, { clock, callbackUrl: () => '', observe: () => undefined, storedSecret: async () => '' }));
    const sweeper = (on: Database) =>
      createDecoupledFlow({
        methods,
        orders: createDecoupledOrders(on, clock),
        logins: createUpstreamLogins({ federated: createFederatedAccountRepository(on, clock), audit: createAuditLog(on, clock), count: disabledMetrics }),
        logger: createLogger('silent'),
        count: disabledMetrics,
        ttlSeconds: TTL_SECONDS,
      });
    await Promise.all([sweeper(db).sweep(), sweeper(twin).sweep()]);
    expect(proxy.calls('cancel', orderRef)).toBe(1);
    expect(proxy.answers('cancel', orderRef)).toEqual([200]);
    expect(await db.knex('decoupled_orders').where({ order_ref: orderRef })).toEqual([]);
  });
});
