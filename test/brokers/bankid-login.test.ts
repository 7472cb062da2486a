/**
 * Swedish BankID end to end: a relying party (openid-client) against our service with the built-in
 * BankID mock (RP API v6.0) and its simulated app, on each dialect: QR login, the recommended
 * messages, reload during polling, cancel, a failed order, alreadyInProgress, an upstream outage and
 * the level rule (BankID reaches substantial, not high).
 */
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { startCountingProxy, type CountingProxy } from '../support/counting-proxy.js';
import { Browser, type Page } from '../support/browser.js';
import { ManualClock } from '../support/manual-clock.js';
import { COLLECT_INTERVAL_MS } from '../../src/brokers/bankid-se/broker.js';
import { begin, chooseMethod, eidClientsFile, redeem, rpError, type Flow } from './eid-support.js';

const ASTRID = '198507099821';
const FATIMA = '197010632391'; // a samordningsnummer
const PNR_CLAIM = 'https://id.oidc.se/claim/personalIdentityNumber';
const APP_ORDER = /\/mock\/bankid\/app\/[0-9a-f-]{36}$/;
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const DESKTOP = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

describe.each(dialects)('BankID login on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;
  let proxy: CountingProxy;
  // Moved by the tests: BankID's 2-second interval, the mock's timeouts and the QR seconds all read it.
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    proxy = await startCountingProxy();
    server = await startService({ db, clock, issuerPort: proxy.port, clientsFile: eidClientsFile(), env: { MOCKS_ENABLED: 'true' } });
    proxy.targets.push(server.url);
  });
  afterAll(async () => {
    await server.close();
    await proxy.close();
    await db.close();
  });

  const qrDataOf = (page: Page) => /<code id="bankid-qr-data">([^<]+)<\/code>/.exec(page.html)![1]!;
  /** What the waiting page's script asks, once BankID's interval has passed (so the server collects anew). */
  const status = async (flow: Flow, page: Page) => {
    clock.advance(COLLECT_INTERVAL_MS);
    const path = new URL(page.url).pathname;
    const res = await fetch(new URL(`${path}/status`, proxy.url), {
      headers: { accept: 'application/json', cookie: (flow.browser as unknown as { cookieHeader(p: string): string }).cookieHeader(path) },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { status: string; message?: string; redirect?: string; qr?: { image: string; data?: string } };
  };
  /** The tester's simulated app: opens the order from the QR data and picks a person. */
  const openInApp = async (qr: string, person: string) => {
    const tester = new Browser(proxy.url);
    const opened = await tester.go(`${proxy.url}/mock/bankid/app?qr=${encodeURIComponent(qr)}`);
    expect(opened.url).toMatch(APP_ORDER);
    const page = await tester.submit(opened, APP_ORDER, { action: 'identify', person });
    return { act: (action: string) => tester.submit(page, APP_ORDER, { action }) };
  };
  const startBankid = async (clientId: string, params: Record<string, string> = {}) => {
    const flow = await begin(proxy.url, clientId, { scope: 'openid profile https://id.oidc.se/scope/naturalPersonNumber', ...params });
    const page = await chooseMethod(flow, flow.page, 'bankid-se');
    return { flow, page };
  };

  test('QR login: messages while waiting, reload, then personnummer, names and acr reach the RP', async () => {
    const { flow, page } = await startBankid('se', { acr_values: 'http://id.elegnamnden.se/loa/1.0/loa3' });
    expect(page.url).toMatch(/\/interaction\/[^/]+\/bankid$/);
    expect(page.html).toContain('src="data:image/svg+xml;base64,');
    expect(page.html).toContain('Start your BankID app.');
    const qr = qrDataOf(page);
    expect(qr).toMatch(/^bankid\.[0-9a-f-]{36}\.\d+\.[0-9a-f]{64}$/);

    const inApp = await openInApp(qr, ASTRID);
    expect((await status(flow, page)).message).toBe('Enter your security code in the BankID app and select Identify or Sign.');
    // A reload finds the same order: it lives in the store, not in memory.
    const reloaded = await flow.browser.go(page.url);
    expect(qrDataOf(reloaded).split('.')[1]).toBe(qr.split('.')[1]);

    await inApp.act('approve');
    const done = await status(flow, page);
    expect(done.status).toBe('complete');
    const { claims, userinfo } = await redeem(flow, await flow.browser.go(done.redirect!));
    // Not a certified Sweden Connect identity provider (the default): the honest Swedish value.
    expect(claims.acr).toBe('http://id.swedenconnect.se/loa/1.0/uncertified-loa3');
    expect(claims.amr).toEqual(['BankID']);
    expect(userinfo).toMatchObject({ [PNR_CLAIM]: ASTRID, name: 'Astrid Lindqvist', given_name: 'Astrid', family_name: 'Lindqvist', birthdate: '1985-07-09' });
  });

  test('a samordningsnummer logs in; without acr_values the client’s vocabulary (eIDAS) is used; its own account', async () => {
    const first = await startBankid('se');
    await (await openInApp(qrDataOf(first.page), FATIMA)).act('approve');
    const a = await redeem(first.flow, await first.flow.browser.go((await status(first.flow, first.page)).redirect!));
    expect(a.claims.acr).toBe('substantial');
    expect(a.userinfo[PNR_CLAIM]).toBe(FATIMA);
    const second = await startBankid('se');
    await (await openInApp(qrDataOf(second.page), FATIMA)).act('approve');
    const b = await redeem(second.flow, await second.flow.browser.go((await status(second.flow, second.page)).redirect!));
    expect(b.claims.sub).toBe(a.claims.sub);
    expect(await db.knex('federated_identities').where({ broker: 'bankid-se', subject: FATIMA })).toHaveLength(1);
  });

  test('this device: the autostart link opens the (simulated) app and the messages follow the same-device mode', async () => {
    const { flow, page } = await startBankid('se');
    const link = /id="bankid-autostart" href="([^"]+)"/.exec(page.html)![1]!;
    const toApp = await flow.browser.go(link, { stopAt: /\/mock\/bankid\/app/ });
    expect(toApp.url).toMatch(/\/mock\/bankid\/app\?autostarttoken=[0-9a-f-]{36}$/);
    expect((await status(flow, page)).message).toBe('Trying to start your BankID app.');
    const tester = new Browser(proxy.url);
    const opened = await tester.go(toApp.url);
    const identified = await tester.submit(opened, APP_ORDER, { action: 'identify', person: ASTRID });
    await tester.submit(identified, APP_ORDER, { action: 'approve' });
    const done = await status(flow, page);
    const { userinfo } = await redeem(flow, await flow.browser.go(done.redirect!));
    expect(userinfo[PNR_CLAIM]).toBe(ASTRID);
  });

  test('messages follow the user’s language', async () => {
    const { flow, page } = await startBankid('se', { ui_locales: 'sv' });
    expect(page.html).toContain('Starta BankID-appen.');
    await openInApp(qrDataOf(page), ASTRID);
    expect((await status(flow, page)).message).toBe('Skriv in din säkerhetskod i BankID-appen och välj Identifiera eller Skriv under.');
  });

  const uidOf = (page: Page) => /\/interaction\/([^/]+)\/bankid/.exec(page.url)![1]!;
  const orderRefOf = async (page: Page) => String((await db.knex('decoupled_orders').where({ uid: uidOf(page) }).first()).order_ref);

  test('BankID is collected at most once per 2 seconds, however often the page and its script ask', async () => {
    const { flow, page } = await startBankid('se');
    const orderRef = await orderRefOf(page);
    // The page load collected once; reloads and polls in the same second read the stored result.
    expect(proxy.calls('collect', orderRef)).toBe(1);
    const path = new URL(page.url).pathname;
    const cookie = (flow.browser as unknown as { cookieHeader(p: string): string }).cookieHeader(path);
    const ask = () => fetch(new URL(`${path}/status`, proxy.url), { headers: { accept: 'application/json', cookie } }).then((r) => r.json() as Promise<{ status: string; message: string }>);
    const [reloaded, ...answers] = await Promise.all([flow.browser.go(page.url), ask(), ask(), ask(), ask()]);
    expect(proxy.calls('collect', orderRef)).toBe(1);
    expect(reloaded.html).toContain('Start your BankID app.');
    expect(answers.map((a) => a.status)).toEqual(['pending', 'pending', 'pending', 'pending']);
    clock.advance(COLLECT_INTERVAL_MS - 1);
    await ask();
    expect(proxy.calls('collect', orderRef)).toBe(1);
    clock.advance(1);
    await Promise.all([ask(), ask(), ask()]);
    expect(proxy.calls('collect', orderRef)).toBe(2);
  });

  test('the status holds only what the page shows, and a cross-site request gets nothing', async () => {
    const { flow, page } = await startBankid('se');
    const path = new URL(page.url).pathname;
    const cookie = (flow.browser as unknown as { cookieHeader(p: string): string }).cookieHeader(path);
    const res = await fetch(new URL(`${path}/status`, proxy.url), { headers: { accept: 'application/json', cookie, 'sec-fetch-site': 'same-origin' } });
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['message', 'qr', 'status']);
    expect(Object.keys(body.qr as object).sort()).toEqual(['data', 'image']);
    expect(JSON.stringify(body)).not.toMatch(/qrStartSecret|autoStartToken|orderRef/);
    const other = await fetch(new URL(`${path}/status`, proxy.url), { headers: { accept: 'application/json', cookie, 'sec-fetch-site': 'cross-site' } });
    expect(other.status).toBe(403);
  });

  test('“Choose another way to log in”: the order is cancelled upstream and the method list comes back', async () => {
    const { flow, page } = await startBankid('se');
    const orderRef = await orderRefOf(page);
    await openInApp(qrDataOf(page), ASTRID);
    const back = await flow.browser.submit(page, /\/bankid\/cancel$/, {});
    expect(back.html).toContain('/method/bankid-se');
    // BankID answers 200 only when it cancelled a running order.
    expect(proxy.answers('cancel', orderRef)).toEqual([200]);
    expect((await status(flow, page)).status).toBe('ended');
  });

  test('“Cancel the login”: cancelled upstream and access_denied to the client in one step', async () => {
    const { flow, page } = await startBankid('se');
    const orderRef = await orderRefOf(page);
    expect(page.html).toContain('Choose another way to log in');
    expect(page.html).toContain('Cancel the login');
    const atRp = await flow.browser.submit(page, /\/abort$/, {});
    expect(rpError(atRp)).toMatchObject({ error: 'access_denied', state: flow.state });
    // BankID answers 200 only when it cancelled a running order.
    expect(proxy.answers('cancel', orderRef)).toEqual([200]);
  });

  test('leaving BankID for the method list or another method cancels the order upstream', async () => {
    const { flow, page } = await startBankid('se');
    const orderRef = await orderRefOf(page);
    const list = await flow.browser.go(`/interaction/${uidOf(page)}`);
    expect(list.html).toContain('/method/bankid-se');
    expect(proxy.calls('cancel', orderRef)).toBe(1);

    const again = await chooseMethod(flow, list, 'bankid-se');
    const second = await orderRefOf(again);
    expect(second).not.toBe(orderRef);
    // Another method, straight from a page that still offers it (the back button of a cached list).
    const toIdporten = await flow.browser.submit(list, /\/method\/idporten$/, {}, { stopAt: /\/mock\/idporten\// });
    expect(toIdporten.url).toContain('/mock/idporten/');
    expect(proxy.calls('cancel', second)).toBe(1);
  });

  test('phones and tablets see “Open BankID on this device” first, computers the QR code', async () => {
    const { flow, page } = await startBankid('se');
    const first = (html: string) => (html.indexOf('id="bankid-same-device-section"') < html.indexOf('id="bankid-qr-section"') ? 'this device' : 'qr');
    expect(first((await flow.browser.go(page.url, { headers: { 'user-agent': DESKTOP } })).html)).toBe('qr');
    expect(first((await flow.browser.go(page.url, { headers: { 'user-agent': DESKTOP, 'sec-ch-ua-mobile': '?0' } })).html)).toBe('qr');
    expect(first((await flow.browser.go(page.url, { headers: { 'user-agent': IPHONE } })).html)).toBe('this device');
    expect(first((await flow.browser.go(page.url, { headers: { 'user-agent': DESKTOP, 'sec-ch-ua-mobile': '?1' } })).html)).toBe('this device');
    // An Android tablet: no "Mobile" token, and Chromium says ?0 there.
    const tablet = 'Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
    expect(first((await flow.browser.go(page.url, { headers: { 'user-agent': tablet, 'sec-ch-ua-mobile': '?0' } })).html)).toBe('this device');
  });

  test('a failed order shows BankID’s message and offers to try again', async () => {
    const { flow, page } = await startBankid('se');
    await (await openInApp(qrDataOf(page), ASTRID)).act('cancel');
    const next = await status(flow, page);
    expect(next.status).toBe('failed');
    const failed = await flow.browser.go(next.redirect!);
    expect(failed.html).toContain('The BankID login did not go through');
    expect(failed.html).toContain('Action cancelled.');
    const again = await flow.browser.submit(failed, /\/method\/bankid-se$/, {});
    expect(again.html).toContain('Start your BankID app.');
    expect(qrDataOf(again)).not.toBe(qrDataOf(page));
  });

  test('alreadyInProgress: a second order for the same person ends the first with BankID’s message', async () => {
    const one = await startBankid('se');
    await openInApp(qrDataOf(one.page), ASTRID);
    const two = await startBankid('se');
    await openInApp(qrDataOf(two.page), ASTRID);
    const first = await one.flow.browser.go((await status(one.flow, one.page)).redirect!);
    expect(first.html).toContain('Action cancelled. Please try again.');
  });

  test('BankID under maintenance: the internal-error message and a way back', async () => {
    const inject = await fetch(`${proxy.url}/mock/bankid/control/inject`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errorCode: 'maintenance', times: 1 }) });
    expect(inject.status).toBe(200);
    const { page } = await startBankid('se');
    expect(page.html).toContain('Internal error. Please try again.');
    expect(page.html).toMatch(/href="\/interaction\/[^"/]+"/);
  });

  test.each([
    ['expiredTransaction', 'The BankID app is not responding.'],
    ['certificateErr', 'The BankID you are trying to use is blocked or too old.'],
    ['startFailed', 'Failed to scan the QR code.'],
    ['userDeclinedCall', 'Unknown error. Please try again.'],
    ['notSupportedByUserApp', 'Unknown error. Please try again.'],
    ['transactionRiskBlocked', 'Unknown error. Please try again.'],
    ['unknownFutureHint', 'Unknown error. Please try again.'],
  ])('the mock fails the order with %s → “%s”', async (hint, message) => {
    const { flow, page } = await startBankid('se');
    await (await openInApp(qrDataOf(page), ASTRID)).act(hint);
    const failed = await flow.browser.go((await status(flow, page)).redirect!);
    expect(failed.html).toContain('The BankID login did not go through');
    expect(failed.html).toContain(message);
  });

  test('an unknown pending hint keeps the order pending with the generic message', async () => {
    const { flow, page } = await startBankid('se');
    await (await openInApp(qrDataOf(page), ASTRID)).act('someNewPendingHint');
    expect(await status(flow, page)).toMatchObject({ status: 'pending', message: 'Identification or signing in progress.' });
  });

  test.each(['maintenance', 'internalError', 'requestTimeout', 'tooManyRequests'])('an injected %s error from the RP API gives the internal-error message', async (errorCode) => {
    const { flow, page } = await startBankid('se');
    await fetch(`${proxy.url}/mock/bankid/control/inject`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errorCode, times: 1 }) });
    const next = await status(flow, page);
    expect(next.status).toBe('failed');
    expect((await flow.browser.go(next.redirect!)).html).toContain('Internal error. Please try again.');
  });

  test('BankID reaches substantial only: not offered when high is required', async () => {
    const flow = await begin(proxy.url, 'se', { acr_values: 'high', scope: 'openid' });
    expect(flow.page.html).not.toContain('/method/bankid-se');
    expect(flow.page.html).toContain('/method/idporten');
    const onlyBankid = await begin(proxy.url, 'pub', { acr_values: 'http://id.elegnamnden.se/loa/1.0/loa4', scope: 'openid' });
    expect(rpError(onlyBankid.page).error).toBe('unmet_authentication_requirements');
  });
});

describe('BankID order timing (injected clock)', () => {
  test('no app picks the order up within 30 seconds → startFailed with the QR message', async () => {
    const { ManualClock } = await import('../support/manual-clock.js');
    const clock = new ManualClock(Date.now());
    const db = await createTestDatabase('sqlite');
    const server = await startService({ db, clock, clientsFile: eidClientsFile(), env: { MOCKS_ENABLED: 'true' } });
    try {
      const flow = await begin(server.url, 'se', { scope: 'openid' });
      const page = await chooseMethod(flow, flow.page, 'bankid-se');
      expect(page.html).toContain('Start your BankID app.');
      clock.advance(31_000);
      const failed = await flow.browser.go(page.url);
      expect(failed.html).toContain('Failed to scan the QR code.');
    } finally {
      await server.close();
      await db.close();
    }
  });
});
