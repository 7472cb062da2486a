/**
 * The Swedish BankID mock, black-box over HTTP on a real port, mounted under /mock/bankid in a tiny koa
 * app (as our service mounts it); time is a ManualClock. Covers "What a faithful mock does" in
 * shared/reference/BANKID-SE.md: the QR test vector, the RP API's state machine, timeouts and collect
 * windows, the simulated app (QR data, autostart, phone orders), alreadyInProgress both ways, every error
 * status and injected failures; and the mock on a port of its own, with state of its own.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { Browser, type Page } from '../support/browser.js';
import { createBankidMock, qrAuthCode, qrData, startBankidMock, TEST_PERSONS, TESTER_FAILURES, UNKNOWN_PENDING_HINT, type CompletionData } from '../../mocks/bankid-se/index.js';
import { parseSwedishPersonalNumber } from '../../src/policies/national-id.js';
import { ManualClock } from '../support/manual-clock.js';

const BASE = '/mock/bankid';
const ORDER_PAGE = /\/mock\/bankid\/app\/[0-9a-f-]{36}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const [ASTRID, JOHAN, FATIMA] = TEST_PERSONS as [(typeof TEST_PERSONS)[number], (typeof TEST_PERSONS)[number], (typeof TEST_PERSONS)[number]];

type Running = { url: string; close(): Promise<void> };
type Answer = { status: number; body: Record<string, unknown>; headers: Headers };
type Started = { orderRef: string; autoStartToken: string; qrStartToken: string; qrStartSecret: string };

async function startMock(clock: ManualClock): Promise<Running> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const mock = createBankidMock({ basePath: BASE, publicUrl: `${url}${BASE}`, now: () => clock.now() });
  const app = new Koa();
  app.use(mock.middleware);
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = 'outer app';
  });
  server.on('request', app.callback());
  return {
    url,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('QR codes', () => {
  test("the reference's test vector", () => {
    expect(qrAuthCode('d28db9a7-4cde-429e-a983-359be676944c', 0)).toBe('dc69358e712458a66a7525beef148ae8526b1c71610eff2c16cdffb4cdac9bf8');
    expect(qrData('67df3917-fa0d-44e5-b327-edcc928297f8', 'd28db9a7-4cde-429e-a983-359be676944c', 0)).toBe(
      'bankid.67df3917-fa0d-44e5-b327-edcc928297f8.0.dc69358e712458a66a7525beef148ae8526b1c71610eff2c16cdffb4cdac9bf8',
    );
  });

  test('the test persons: Luhn-valid 12-digit numbers, one a samordningsnummer, all named', () => {
    expect(TEST_PERSONS.length).toBeGreaterThanOrEqual(5);
    for (const p of TEST_PERSONS) {
      expect(p.personalNumber).toMatch(/^\d{12}$/);
      expect(parseSwedishPersonalNumber(p.personalNumber)?.number).toBe(p.personalNumber);
      expect(p.givenName && p.surname).toBeTruthy();
    }
    expect(TEST_PERSONS.filter((p) => parseSwedishPersonalNumber(p.personalNumber)?.kind === 'samordningsnummer')).not.toHaveLength(0);
  });
});

describe('BankID mock, mounted under /mock/bankid', () => {
  let mock: Running;
  const clock = new ManualClock();

  beforeAll(async () => {
    mock = await startMock(clock);
  });
  afterAll(async () => {
    await mock.close();
  });
  // Every order of a test is over and forgotten before the next begins.
  afterEach(() => clock.advance(15 * 60_000));

  async function call(path: string, body: unknown = {}, init: { method?: string; type?: string; server?: Running } = {}): Promise<Answer> {
    const method = init.method ?? 'POST';
    const res = await fetch(`${(init.server ?? mock).url}${BASE}${path}`, {
      method,
      headers: { 'content-type': init.type ?? 'application/json' },
      body: method === 'GET' ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
  }
  const rp = (endpoint: string, body: unknown, init: { server?: Running } = {}) => call(`/rp/v6.0/${endpoint}`, body, init);
  const collect = async (orderRef: string, server = mock) => (await rp('collect', { orderRef }, { server })).body;
  const expectError = (answer: Answer, status: number, errorCode: string) => {
    expect({ status: answer.status, errorCode: answer.body.errorCode }).toEqual({ status, errorCode });
    expect(typeof answer.body.details).toBe('string');
  };

  async function auth(body: Record<string, unknown> = {}, server = mock): Promise<Started> {
    const res = await rp('auth', { endUserIp: '192.0.2.10', ...body }, { server });
    expect(res.status).toBe(200);
    return res.body as unknown as Started;
  }

  /** Opens an order in the simulated app by its QR data, as `seconds` after the order began. */
  async function scan(order: Started, seconds = 0, server = mock) {
    const browser = new Browser(server.url);
    const start = await browser.go(`${BASE}/app`);
    const page = await browser.submit(start, /\/app$/, { qr: qrData(order.qrStartToken, order.qrStartSecret, seconds), action: 'scan' });
    return { browser, page };
  }
  const act = (browser: Browser, page: Page, fields: Record<string, string>) => browser.submit(page, ORDER_PAGE, fields);

  /** An auth order opened in the app and identified as `person`: pending/userSign. */
  async function atUserSign(person = ASTRID, body: Record<string, unknown> = {}) {
    const order = await auth(body);
    const { browser, page } = await scan(order);
    const signing = await act(browser, page, { action: 'identify', person: person.personalNumber });
    expect(signing.status).toBe(200);
    return { order, browser, page: signing };
  }

  test('auth answers with UUIDs; collect says pending/outstandingTransaction', async () => {
    const order = await auth();
    for (const key of ['orderRef', 'autoStartToken', 'qrStartToken', 'qrStartSecret'] as const) expect(order[key]).toMatch(UUID);
    expect(await collect(order.orderRef)).toEqual({ orderRef: order.orderRef, status: 'pending', hintCode: 'outstandingTransaction' });
  });

  test('the app: QR data opens the order (started), then a person (userSign), then approve (complete with completionData)', async () => {
    const order = await auth({ returnRisk: true });
    clock.advance(4_000);
    const { browser, page } = await scan(order, 4);
    expect(page.url).toMatch(ORDER_PAGE);
    expect(page.html).toContain('pending/started');
    expect(await collect(order.orderRef)).toEqual({ orderRef: order.orderRef, status: 'pending', hintCode: 'started' });
    const signing = await act(browser, page, { action: 'identify', person: FATIMA.personalNumber });
    expect(await collect(order.orderRef)).toMatchObject({ status: 'pending', hintCode: 'userSign' });
    const done = await act(browser, signing, { action: 'approve' });
    expect(done.html).toContain('complete');
    const answer = await collect(order.orderRef);
    expect(answer).toEqual({
      orderRef: order.orderRef,
      status: 'complete',
      completionData: {
        user: { personalNumber: '197010632391', name: 'Fatima Hassan', givenName: 'Fatima', surname: 'Hassan' },
        device: { ipAddress: expect.stringMatching(/127\.0\.0\.1/), uhi: expect.stringMatching(BASE64) },
        bankIdIssueDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
        stepUp: { mrtd: false },
        signature: expect.stringMatching(BASE64),
        ocspResponse: expect.stringMatching(BASE64),
        risk: 'low',
      },
    });
    expect(Buffer.from((answer.completionData as CompletionData).signature, 'base64').toString()).toContain('<funcId>Identification</funcId>');
    // The first final answer was collected: the order is known no more.
    expectError(await rp('collect', { orderRef: order.orderRef }), 400, 'invalidParameters');
  });

  test('the app refuses stale QR data, a wrong qrAuthCode, data from the future and malformed data; ?qr= works too', async () => {
    const order = await auth();
    clock.advance(15_000);
    expect((await scan(order, 0)).page).toMatchObject({ status: 400, html: expect.stringContaining('too old') });
    const forged = `bankid.${order.qrStartToken}.15.${qrAuthCode('not-the-secret', 15)}`;
    const browser = new Browser(mock.url);
    expect(await browser.go(`${BASE}/app?qr=${encodeURIComponent(forged)}`)).toMatchObject({ status: 400, html: expect.stringContaining('not genuine') });
    expect((await scan(order, 30)).page).toMatchObject({ status: 400, html: expect.stringContaining('more seconds') });
    expect(await browser.go(`${BASE}/app?qr=bankid.nonsense`)).toMatchObject({ status: 400, html: expect.stringContaining('not BankID QR data') });
    expect(await collect(order.orderRef)).toMatchObject({ status: 'pending', hintCode: 'outstandingTransaction' });
    const fresh = await browser.go(`${BASE}/app?qr=${encodeURIComponent(qrData(order.qrStartToken, order.qrStartSecret, 13))}`);
    expect(fresh.url).toMatch(ORDER_PAGE);
    expect(await collect(order.orderRef)).toMatchObject({ status: 'pending', hintCode: 'started' });
    // An order is opened by one app only.
    expect((await scan(order, 15)).page).toMatchObject({ status: 400, html: expect.stringContaining('already been opened') });
  });

  test('the app: the autostart link opens the order and offers the way back once it ends', async () => {
    const order = await auth();
    const browser = new Browser(mock.url);
    const page = await browser.go(`${BASE}/app?autostarttoken=${order.autoStartToken}&redirect=${encodeURIComponent('https://rp.example/back?x=1')}`);
    expect(page.url).toMatch(ORDER_PAGE);
    expect(await collect(order.orderRef)).toMatchObject({ status: 'pending', hintCode: 'started' });
    expect(page.html).not.toContain('https://rp.example/back');
    const ended = await act(browser, page, { action: 'cancel' });
    expect(ended.html).toContain('href="https://rp.example/back?x=1"');
    expect(await collect(order.orderRef)).toMatchObject({ status: 'failed', hintCode: 'userCancel' });
    expect(await browser.go(`${BASE}/app?autostarttoken=${crypto.randomUUID()}`)).toMatchObject({ status: 400, html: expect.stringContaining('autostart token') });
  });

  test('startFailed when no app opens the order within 30 s; expiredTransaction after 3 minutes', async () => {
    const unopened = await auth();
    const opened = await atUserSign(JOHAN);
    clock.advance(29_000);
    expect(await collect(unopened.orderRef)).toMatchObject({ status: 'pending' });
    clock.advance(1_000);
    expect(await collect(unopened.orderRef)).toEqual({ orderRef: unopened.orderRef, status: 'failed', hintCode: 'startFailed' });
    expect((await scan(unopened, 30)).page).toMatchObject({ status: 400, html: expect.stringContaining('has ended') });
    clock.advance(149_000);
    expect(await collect(opened.order.orderRef)).toMatchObject({ status: 'pending', hintCode: 'userSign' });
    clock.advance(1_000);
    expect(await collect(opened.order.orderRef)).toMatchObject({ status: 'failed', hintCode: 'expiredTransaction' });
    expect((await act(opened.browser, opened.page, { action: 'approve' })).status).toBe(400);
  });

  test.each([...TESTER_FAILURES, 'cancel'])('the tester chooses the outcome %s', async (action) => {
    const { order, browser, page } = await atUserSign();
    await act(browser, page, { action });
    expect(await collect(order.orderRef)).toEqual({ orderRef: order.orderRef, status: 'failed', hintCode: action === 'cancel' ? 'userCancel' : action });
  });

  test('an unknown pending hint, then approval; unknownFutureHint is a failed hint no RP knows', async () => {
    const { order, browser, page } = await atUserSign();
    const pending = await act(browser, page, { action: UNKNOWN_PENDING_HINT });
    expect(await collect(order.orderRef)).toMatchObject({ status: 'pending', hintCode: 'someNewPendingHint' });
    await act(browser, pending, { action: 'approve' });
    expect(await collect(order.orderRef)).toMatchObject({ status: 'complete' });
    expect(TESTER_FAILURES).toContain('unknownFutureHint');
  });

  test('collect windows: 3 minutes after completion, 5 minutes after failure', async () => {
    const completed = await atUserSign(ASTRID);
    await act(completed.browser, completed.page, { action: 'approve' });
    const failed = await atUserSign(JOHAN);
    await act(failed.browser, failed.page, { action: 'certificateErr' });
    const uncollected = await atUserSign(TEST_PERSONS[3]);
    await act(uncollected.browser, uncollected.page, { action: 'transactionRiskBlocked' });
    clock.advance(180_000);
    const early = await atUserSign(FATIMA);
    await act(early.browser, early.page, { action: 'approve' });
    clock.advance(1_000);
    expectError(await rp('collect', { orderRef: completed.order.orderRef }), 400, 'invalidParameters');
    clock.advance(119_000);
    expect(await collect(failed.order.orderRef)).toMatchObject({ status: 'failed', hintCode: 'certificateErr' });
    expectError(await rp('collect', { orderRef: failed.order.orderRef }), 400, 'invalidParameters');
    expect(await collect(early.order.orderRef)).toMatchObject({ status: 'complete' });
    clock.advance(1_000);
    expectError(await rp('collect', { orderRef: uncollected.order.orderRef }), 400, 'invalidParameters');
  });

  test('cancel answers {}; a second cancel, a collect after it, or cancelling an ended order is invalidParameters', async () => {
    const order = await auth();
    expect(await rp('cancel', { orderRef: order.orderRef })).toMatchObject({ status: 200, body: {} });
    expectError(await rp('cancel', { orderRef: order.orderRef }), 400, 'invalidParameters');
    expectError(await rp('collect', { orderRef: order.orderRef }), 400, 'invalidParameters');
    expect((await scan(order)).page.status).toBe(400);
    const { order: ended, browser, page } = await atUserSign();
    await act(browser, page, { action: 'approve' });
    expectError(await rp('cancel', { orderRef: ended.orderRef }), 400, 'invalidParameters');
  });

  test('alreadyInProgress through the API: the new order is refused and the running one fails with cancelled', async () => {
    const requirement = { personalNumber: JOHAN.personalNumber };
    const first = await auth({ requirement });
    expectError(await rp('sign', { endUserIp: '192.0.2.1', userVisibleData: 'SGVq', requirement }), 400, 'alreadyInProgress');
    expect(await collect(first.orderRef)).toMatchObject({ status: 'failed', hintCode: 'cancelled' });
    const phone = await rp('phone/auth', { personalNumber: JOHAN.personalNumber, callInitiator: 'user' });
    expect(Object.keys(phone.body)).toEqual(['orderRef']);
    expectError(await rp('auth', { endUserIp: '192.0.2.1', requirement }), 400, 'alreadyInProgress');
    expect(await collect(phone.body.orderRef as string)).toMatchObject({ status: 'failed', hintCode: 'cancelled' });
  });

  test('alreadyInProgress in the app: identifying as someone with a running order cancels that order', async () => {
    const older = await atUserSign(ASTRID);
    const { order, browser, page } = await atUserSign(ASTRID);
    expect(page.html).toContain('alreadyInProgress');
    expect(await collect(older.order.orderRef)).toMatchObject({ status: 'failed', hintCode: 'cancelled' });
    await act(browser, page, { action: 'approve' });
    expect(await collect(order.orderRef)).toMatchObject({ status: 'complete', completionData: { user: { personalNumber: ASTRID.personalNumber } } });
  });

  test('a requirement limits who may identify; sign shows the text and signs it', async () => {
    const text = 'Jag godkänner **avtalet** – 100 kr';
    const res = await rp('sign', { endUserIp: '2001:db8::1', userVisibleData: Buffer.from(text).toString('base64'), userVisibleDataFormat: 'simpleMarkdownV1', requirement: { personalNumber: FATIMA.personalNumber } });
    const { browser, page } = await scan(res.body as unknown as Started);
    expect(page.html).toContain('Jag godkänner **avtalet** – 100 kr');
    expect(page.html).not.toContain(ASTRID.personalNumber);
    expect(await act(browser, page, { action: 'identify', person: ASTRID.personalNumber })).toMatchObject({ status: 400, html: expect.stringContaining('another personal number') });
    const signing = await act(browser, page, { action: 'identify', person: FATIMA.personalNumber });
    await act(browser, signing, { action: 'approve' });
    const data = (await collect(res.body.orderRef as string)).completionData as CompletionData;
    expect(Buffer.from(data.signature, 'base64').toString()).toContain(`<usrVisibleData charset="UTF-8" visible="wysiwys">${Buffer.from(text).toString('base64')}<`);
  });

  test('phone orders: the app opens them by personal number; an RP call awaits userCallConfirm', async () => {
    const res = await rp('phone/sign', { personalNumber: JOHAN.personalNumber, callInitiator: 'RP', userVisibleData: 'SGVq' });
    const orderRef = res.body.orderRef as string;
    const browser = new Browser(mock.url);
    const start = await browser.go(`${BASE}/app`);
    expect((await browser.submit(start, /\/app$/, { action: 'phone', personalNumber: ASTRID.personalNumber })).status).toBe(400);
    const page = await browser.submit(start, /\/app$/, { action: 'phone', personalNumber: JOHAN.personalNumber });
    expect(await collect(orderRef)).toMatchObject({ status: 'pending', hintCode: 'userCallConfirm' });
    await act(browser, await act(browser, page, { action: 'identify', person: JOHAN.personalNumber }), { action: 'userDeclinedCall' });
    expect(await collect(orderRef)).toMatchObject({ status: 'failed', hintCode: 'userDeclinedCall' });
  });

  test('the pages: CSRF required, strict CSP, our stylesheet, no inline script or style', async () => {
    const { browser, page } = await atUserSign();
    const res = await fetch(page.url);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(page.html).toContain('<link rel="stylesheet" href="/static/style.css">');
    expect(page.html).not.toMatch(/<script|<style|style="/);
    expect(await act(browser, page, { action: 'approve', _csrf: 'forged' })).toMatchObject({ status: 403 });
    expect((await fetch(`${mock.url}${BASE}/app/${crypto.randomUUID()}`)).status).toBe(404);
  });

  test('error statuses: 404 notFound, 405 methodNotAllowed, 415 unsupportedMediaType, 400 invalidParameters', async () => {
    expectError(await call('/rp/v6.0/payments', {}), 404, 'notFound');
    expectError(await call('/rp/v5.1/auth', {}), 404, 'notFound');
    expectError(await call('/elsewhere', {}), 404, 'notFound');
    expect(await (await fetch(`${mock.url}/mock/bankidx/rp/v6.0/auth`)).text()).toBe('outer app');
    expect((await fetch(`${mock.url}${BASE}`, { redirect: 'manual' })).headers.get('location')).toBe(`${BASE}/app`);
    const get = await call('/rp/v6.0/auth', {}, { method: 'GET' });
    expectError(get, 405, 'methodNotAllowed');
    expect(get.headers.get('allow')).toBe('POST');
    expectError(await call('/rp/v6.0/collect', 'orderRef=x', { type: 'application/x-www-form-urlencoded' }), 415, 'unsupportedMediaType');
    const invalid: Array<[string, unknown]> = [
      ['auth', {}],
      ['auth', { endUserIp: 'not-an-ip' }],
      ['auth', { endUserIp: '192.0.2.1', requirement: { personalNumber: '195006262547' } }],
      ['auth', { endUserIp: '192.0.2.1', requirement: { personalNumber: '5006262546' } }],
      ['auth', { endUserIp: '192.0.2.1', userVisibleData: 'not base64!' }],
      ['sign', { endUserIp: '192.0.2.1' }],
      ['phone/auth', { callInitiator: 'user' }],
      ['phone/auth', { personalNumber: JOHAN.personalNumber, callInitiator: 'nobody' }],
      ['collect', {}],
      ['collect', { orderRef: crypto.randomUUID() }],
      ['cancel', { orderRef: crypto.randomUUID() }],
      ['collect', []],
    ];
    for (const [endpoint, body] of invalid) expectError(await rp(endpoint, body), 400, 'invalidParameters');
    expectError(await call('/rp/v6.0/auth', '{"endUserIp":'), 400, 'invalidParameters');
  });

  test('injected failures answer the next calls with their status', async () => {
    const cases: Array<[string, number]> = [['maintenance', 503], ['internalError', 500], ['requestTimeout', 408], ['tooManyRequests', 429]];
    for (const [errorCode, status] of cases) {
      expect(await call('/control/inject', { errorCode, times: 2 })).toMatchObject({ status: 200, body: { errorCode, times: 2 } });
      const first = await rp('auth', { endUserIp: '192.0.2.1' });
      expectError(first, status, errorCode);
      expectError(await rp('collect', { orderRef: 'x' }), status, errorCode);
      if (errorCode === 'tooManyRequests') {
        for (const name of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after']) expect(first.headers.get(name)).toMatch(/^\d+$/);
      }
      expect((await rp('auth', { endUserIp: '192.0.2.1' })).status).toBe(200);
    }
    await call('/control/inject', { errorCode: 'maintenance', times: 5 });
    await call('/control/inject', { errorCode: 'maintenance', times: 0 });
    expect((await rp('auth', { endUserIp: '192.0.2.1' })).status).toBe(200);
    expectError(await call('/control/inject', { errorCode: 'userCancel' }), 400, 'invalidParameters');
  });

});

describe('BankID mock on a port of its own', () => {
  test('the RP API at its root, the app beside it; its orders are its own', async () => {
    const clock = new ManualClock();
    const [one, other] = await Promise.all([startBankidMock({ now: () => clock.now() }), startBankidMock({ now: () => clock.now() })]);
    try {
      expect(one.rpApiUrl).toBe(`${one.url}/rp/v6.0`);
      const post = (url: string, body: object) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const started = (await (await post(`${one.rpApiUrl}/auth`, { endUserIp: '192.0.2.10' })).json()) as Started;
      expect(await (await post(`${one.rpApiUrl}/collect`, { orderRef: started.orderRef })).json()).toMatchObject({ status: 'pending', hintCode: 'outstandingTransaction' });
      const browser = new Browser(one.url);
      const page = await browser.go(`/app?qr=${encodeURIComponent(qrData(started.qrStartToken, started.qrStartSecret, 0))}`);
      expect(page.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/app\/[0-9a-f-]{36}$/);
      expect(page.html).toContain('pending/started');
      expect((await fetch(`${one.url}/`, { redirect: 'manual' })).headers.get('location')).toBe('/app');
      expect((await post(`${other.rpApiUrl}/collect`, { orderRef: started.orderRef })).status).toBe(400);
    } finally {
      await Promise.all([one.close(), other.close()]);
    }
  });
});

describe("the mock's own personal number check", () => {
  test('agrees with the product on 12-digit numbers, samordningsnummer and leap days included', async () => {
    const { isSwedishPersonalNumber } = await import('../../mocks/bankid-se/personal-number.js');
    const numbers = [...TEST_PERSONS.map((p) => p.personalNumber), '195006262547', '199202309807', '197010932391', '19850709982', 'x98507099821'];
    for (const n of numbers) expect([n, isSwedishPersonalNumber(n)]).toEqual([n, parseSwedishPersonalNumber(n)?.number === n]);
  });
});
