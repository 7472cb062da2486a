/**
 * The Swedish BankID broker, its QR code and its RFA mapping. The broker talks over HTTP(S) on a real port
 * to a fake RP API written here that returns scripted answers (the faithful mock is tested on its own):
 * every hint code and error code, unknown ones too, non-JSON bodies, a server that never answers, cancel,
 * the level check, and mutual TLS with certificates made by openssl at test time.
 */
import http from 'node:http';
import https from 'node:https';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { autoStartUrl, qrAuthCode, qrData } from '../../src/brokers/bankid-se/qr.js';
import { rfaForError, rfaForFailed, rfaForPending } from '../../src/brokers/bankid-se/hints.js';
import { BankidError, createBankidBroker, type BankidBrokerConfig } from '../../src/brokers/bankid-se/broker.js';
import type { BrokerState, Requirement } from '../../src/brokers/types.js';
import { ManualClock } from '../support/manual-clock.js';

const TOKEN = '67df3917-fa0d-44e5-b327-edcc928297f8';
const SECRET = 'd28db9a7-4cde-429e-a983-359be676944c';
const SUBSTANTIAL: Requirement = { minimum: 'substantial', locale: 'sv' };
const ORDER = { orderRef: 'order-1', autoStartToken: 'auto-1', qrStartToken: TOKEN, qrStartSecret: SECRET };

type Answer = { status?: number; json?: unknown; raw?: string; hang?: true };

interface Fake {
  url: string;
  requests: Array<{ method: string; path: string; type: string | undefined; body: unknown }>;
  reply(path: string, ...answers: Answer[]): void;
  close(): Promise<void>;
}

/** A scripted RP API: each path answers from its queue, then `notFound`. */
async function startFake(server: http.Server = http.createServer()): Promise<Fake> {
  const queues = new Map<string, Answer[]>();
  const fake: Fake = {
    url: '',
    requests: [],
    reply: (path, ...answers) => queues.set(path, [...(queues.get(path) ?? []), ...answers]),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').replace(/^\/rp\/v6\.0\//, '');
      fake.requests.push({ method: req.method ?? '', path, type: req.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString() || 'null') });
      const answer = queues.get(path)?.shift() ?? { status: 404, json: { errorCode: 'notFound', details: 'no script' } };
      if (answer.hang) return;
      res.writeHead(answer.status ?? 200, { 'content-type': answer.raw === undefined ? 'application/json' : 'text/html' });
      res.end(answer.raw ?? JSON.stringify(answer.json ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const scheme = server instanceof https.Server ? 'https' : 'http';
  fake.url = `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}/rp/v6.0`;
  return fake;
}

async function rejection(promise: Promise<unknown>): Promise<BankidError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof BankidError)) throw new Error(`expected a BankidError, got ${String(err)}`);
  return err;
}

describe('BankID QR code and autostart link', () => {
  it('computes the reference test vector', () => {
    expect(qrAuthCode(SECRET, 0)).toBe('dc69358e712458a66a7525beef148ae8526b1c71610eff2c16cdffb4cdac9bf8');
  });

  it('counts whole seconds since the auth answer, never below 0', () => {
    const state = { qrStartToken: TOKEN, qrStartSecret: SECRET, startedAt: 1_000_000 };
    expect(qrData(state, 1_000_000)).toBe(`bankid.${TOKEN}.0.dc69358e712458a66a7525beef148ae8526b1c71610eff2c16cdffb4cdac9bf8`);
    expect(qrData(state, 1_002_999)).toBe(`bankid.${TOKEN}.2.${qrAuthCode(SECRET, 2)}`);
    expect(qrData(state, 999_000)).toBe(qrData(state, 1_000_000));
    expect(qrAuthCode(SECRET, 2)).not.toBe(qrAuthCode(SECRET, 3));
  });

  it('builds the mobile and desktop autostart links', () => {
    expect(autoStartUrl('a-b', { mobile: true, redirect: 'https://id.example/bankid?x=1&y=2' })).toBe(
      'https://app.bankid.com/?autostarttoken=a-b&redirect=https%3A%2F%2Fid.example%2Fbankid%3Fx%3D1%26y%3D2',
    );
    expect(autoStartUrl('a-b', { mobile: true })).toBe('https://app.bankid.com/?autostarttoken=a-b&redirect=null');
    expect(autoStartUrl('a-b', { mobile: false, redirect: 'https://id.example/' })).toBe('bankid:///?autostarttoken=a-b&redirect=null');
  });
});

describe('BankID RFA codes', () => {
  it.each([
    ['outstandingTransaction', 'qr', false, 'RFA1'], ['outstandingTransaction', 'same-device', true, 'RFA13'],
    ['noClient', 'qr', false, 'RFA1'], ['noClient', 'same-device', false, 'RFA1'],
    ['started', 'qr', false, 'RFA15A'], ['started', 'same-device', true, 'RFA15B'],
    ['userSign', 'qr', false, 'RFA9'], ['userMrtd', 'same-device', true, 'RFA23'],
    ['userCallConfirm', 'qr', false, 'RFA21'], ['somethingNew', 'qr', false, 'RFA21'], [undefined, 'qr', false, 'RFA21'],
  ] as const)('pending %s (%s, mobile %s) → %s', (hint, mode, mobile, rfa) => {
    expect(rfaForPending(hint, mode, mobile)).toBe(rfa);
  });

  it.each([
    ['userCancel', 'qr', 'RFA6'], ['cancelled', 'qr', 'RFA3'], ['expiredTransaction', 'same-device', 'RFA8'], ['certificateErr', 'qr', 'RFA16'],
    ['startFailed', 'same-device', 'RFA17A'], ['startFailed', 'qr', 'RFA17B'],
    ['transactionRiskBlocked', 'qr', 'RFA22'], ['somethingNew', 'same-device', 'RFA22'], [undefined, 'qr', 'RFA22'],
  ] as const)('failed %s (%s) → %s', (hint, mode, rfa) => {
    expect(rfaForFailed(hint, mode)).toBe(rfa);
  });

  it.each([
    ['alreadyInProgress', 'RFA4'], ['requestTimeout', 'RFA5'], ['maintenance', 'RFA5'], ['internalError', 'RFA5'], ['tooManyRequests', 'RFA5'],
    ['invalidParameters', 'RFA22'], ['unauthorized', 'RFA22'], ['somethingNew', 'RFA22'], [undefined, 'RFA22'],
  ] as const)('error %s → %s', (code, rfa) => {
    expect(rfaForError(code)).toBe(rfa);
  });
});

describe('BankID broker against a fake RP API', () => {
  let fake: Fake;
  let clock: ManualClock;
  const broker = (extra: Partial<BankidBrokerConfig> = {}) => createBankidBroker({ baseUrl: fake.url, timeoutMs: 2000, clock, ...extra });
  const state: BrokerState = { ...ORDER, startedAt: Date.UTC(2026, 0, 1) };
  const collect = (json: unknown) => fake.reply('collect', { json: { orderRef: 'order-1', ...(json as object) } });
  const complete = (user: unknown) => collect({ status: 'complete', completionData: { user, device: { ipAddress: '192.0.2.7' }, bankIdIssueDate: '2024-01-02' } });

  beforeEach(async () => {
    fake = await startFake();
    clock = new ManualClock();
  });
  afterEach(() => fake.close());

  it('begins an order with the end user IP and keeps the secret out of the display', async () => {
    fake.reply('auth', { json: ORDER });
    const b = broker({ baseUrl: `${fake.url}/` });
    expect(b).toMatchObject({ id: 'bankid-se', capability: 'decoupled', reachable: ['substantial'] });
    const begun = await b.begin(SUBSTANTIAL, { ip: '192.0.2.7' });
    expect(fake.requests).toEqual([{ method: 'POST', path: 'auth', type: 'application/json', body: { endUserIp: '192.0.2.7' } }]);
    expect(begun.state).toEqual({ ...ORDER, startedAt: clock.now() });
    expect(begun.display).toEqual({ autoStartToken: 'auto-1' });
    clock.advance(3500);
    expect(b.qrData(begun.state)).toBe(`bankid.${TOKEN}.3.${qrAuthCode(SECRET, 3)}`);
  });

  it('refuses an auth answer without the tokens', async () => {
    fake.reply('auth', { json: { orderRef: 'order-1' } });
    expect(await rejection(broker().begin(SUBSTANTIAL, { ip: '192.0.2.7' }))).toMatchObject({ kind: 'invalid_response', rfa: 'RFA22' });
  });

  it('refuses a requirement of high without calling BankID', async () => {
    const high: Requirement = { minimum: 'high', locale: 'sv' };
    expect(await rejection(broker().begin(high, { ip: '192.0.2.7' }))).toMatchObject({ broker: 'bankid-se', kind: 'insufficient_level' });
    expect(await rejection(broker().poll(state, high))).toMatchObject({ kind: 'insufficient_level' });
    expect(fake.requests).toEqual([]);
  });

  it.each(['outstandingTransaction', 'noClient', 'started', 'userMrtd', 'userCallConfirm', 'userSign', 'somethingNew'])('pending %s stays pending', async (hintCode) => {
    collect({ status: 'pending', hintCode });
    expect(await broker().poll(state, SUBSTANTIAL)).toEqual({ status: 'pending', hint: hintCode });
    expect(fake.requests[0]).toMatchObject({ path: 'collect', body: { orderRef: 'order-1' } });
  });

  it.each(['expiredTransaction', 'certificateErr', 'userCancel', 'cancelled', 'startFailed', 'userDeclinedCall', 'notSupportedByUserApp', 'transactionRiskBlocked', 'somethingNew'])(
    'failed %s is reported with the raw hint',
    async (hintCode) => {
      collect({ status: 'failed', hintCode });
      expect(await broker().poll(state, SUBSTANTIAL)).toEqual({ status: 'failed', reason: hintCode });
    },
  );

  it('reads a missing hint code as unknown', async () => {
    collect({ status: 'pending' });
    expect(await broker().poll(state, SUBSTANTIAL)).toEqual({ status: 'pending', hint: 'unknown' });
  });

  it('turns a completed order into an identity', async () => {
    complete({ personalNumber: '195006262546', name: 'Tolvan Tolvansson', givenName: 'Tolvan', surname: 'Tolvansson' });
    expect(await broker().poll(state, SUBSTANTIAL)).toEqual({
      status: 'complete',
      identity: {
        broker: 'bankid-se',
        subject: '195006262546',
        acr: 'substantial',
        amr: ['BankID'],
        claims: { national_id: '195006262546', name: 'Tolvan Tolvansson', given_name: 'Tolvan', family_name: 'Tolvansson', birthdate: '1950-06-26' },
      },
    });
  });

  it('accepts a samordningsnummer and a low requirement', async () => {
    complete({ personalNumber: '197010632391', name: 'Sam Ordning', givenName: 'Sam', surname: 'Ordning' });
    const result = await broker().poll(state, { minimum: 'low', locale: 'en' });
    expect(result).toMatchObject({ status: 'complete', identity: { subject: '197010632391', claims: { birthdate: '1970-10-03', given_name: 'Sam', family_name: 'Ordning' } } });
  });

  it.each([
    ['a wrong check digit', { personalNumber: '195006262547', name: 'X' }],
    ['the 10-digit form', { personalNumber: '500626-2546', name: 'X' }],
    ['a separator', { personalNumber: '19500626-2546', name: 'X' }],
    ['a number', { personalNumber: 195006262546, name: 'X' }],
    ['no user', undefined],
  ])('refuses a completed order with %s', async (_what, user) => {
    complete(user);
    expect(await rejection(broker().poll(state, SUBSTANTIAL))).toMatchObject({ kind: 'invalid_response', rfa: 'RFA22' });
  });

  it('refuses an unknown status and an answer for another order', async () => {
    collect({ status: 'done' });
    fake.reply('collect', { json: { orderRef: 'order-2', status: 'pending', hintCode: 'started' } });
    expect(await rejection(broker().poll(state, SUBSTANTIAL))).toMatchObject({ kind: 'invalid_response' });
    expect(await rejection(broker().poll(state, SUBSTANTIAL))).toMatchObject({ kind: 'invalid_response' });
  });

  it.each([
    [400, 'alreadyInProgress', 'RFA4'],
    [400, 'invalidParameters', 'RFA22'],
    [401, 'unauthorized', 'RFA22'],
    [403, 'unauthorized', 'RFA22'],
    [404, 'notFound', 'RFA22'],
    [405, 'methodNotAllowed', 'RFA22'],
    [408, 'requestTimeout', 'RFA5'],
    [415, 'unsupportedMediaType', 'RFA22'],
    [429, 'tooManyRequests', 'RFA5'],
    [500, 'internalError', 'RFA5'],
    [503, 'maintenance', 'RFA5'],
    [400, 'somethingNew', 'RFA22'],
  ])('%i %s is an upstream_error with %s from auth and collect', async (status, errorCode, rfa) => {
    fake.reply('auth', { status, json: { errorCode, details: 'scripted' } });
    fake.reply('collect', { status, json: { errorCode, details: 'scripted' } });
    const expected = { broker: 'bankid-se', kind: 'upstream_error', errorCode, rfa };
    expect(await rejection(broker().begin(SUBSTANTIAL, { ip: '192.0.2.7' }))).toMatchObject(expected);
    expect(await rejection(broker().poll(state, SUBSTANTIAL))).toMatchObject(expected);
  });

  it('tolerates error bodies that are not JSON, and refuses a 200 that is not', async () => {
    fake.reply('auth', { status: 500, raw: '<html>Bad gateway</html>' }, { status: 502, json: ['no', 'object'] }, { status: 200, raw: 'ok' });
    const err = await rejection(broker().begin(SUBSTANTIAL, { ip: '192.0.2.7' }));
    expect(err).toMatchObject({ kind: 'upstream_error', errorCode: undefined, rfa: 'RFA22' });
    expect(err.cause).toMatchObject({ status: 500 });
    expect(await rejection(broker().begin(SUBSTANTIAL, { ip: '192.0.2.7' }))).toMatchObject({ kind: 'upstream_error', errorCode: undefined });
    expect(await rejection(broker().begin(SUBSTANTIAL, { ip: '192.0.2.7' }))).toMatchObject({ kind: 'invalid_response' });
  });

  it('reports an unreachable BankID as upstream_error', async () => {
    const url = fake.url;
    await fake.close();
    fake = await startFake();
    const b = createBankidBroker({ baseUrl: url, timeoutMs: 2000, clock });
    expect(await rejection(b.begin(SUBSTANTIAL, { ip: '192.0.2.7' }))).toMatchObject({ kind: 'upstream_error', rfa: 'RFA5', errorCode: undefined });
  });

  it('gives up on a BankID that never answers', async () => {
    fake.reply('collect', { hang: true });
    const started = Date.now();
    expect(await rejection(broker({ timeoutMs: 200 }).poll(state, SUBSTANTIAL))).toMatchObject({ kind: 'timeout', rfa: 'RFA5' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('cancels, and tolerates cancelling an order that has ended', async () => {
    fake.reply('cancel', { json: {} }, { status: 400, json: { errorCode: 'invalidParameters', details: 'No such order' } }, { status: 503, json: { errorCode: 'maintenance' } });
    await broker().cancel(state);
    await broker().cancel(state);
    expect(fake.requests.map((r) => [r.path, r.body])).toEqual([['cancel', { orderRef: 'order-1' }], ['cancel', { orderRef: 'order-1' }]]);
    expect(await rejection(broker().cancel(state))).toMatchObject({ kind: 'upstream_error', errorCode: 'maintenance' });
  });
});

const haveOpenssl = spawnSync('openssl', ['version']).status === 0;

// Skipped only where openssl is missing: the certificates are made fresh for each run.
(haveOpenssl ? describe : describe.skip)('BankID broker over mutual TLS', () => {
  let dir: string;
  let fake: Fake;
  const file = (name: string) => readFileSync(join(dir, name));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const issue = (name: string, extensions: string) => {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl('req', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', '2', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.crt`);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bankid-mtls-'));
    openssl('req', '-x509', ...ecKey, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=Test BankID CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
    issue('server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    issue('client', 'extendedKeyUsage=clientAuth\n');
    openssl('pkcs12', '-export', '-in', 'client.crt', '-inkey', 'client.key', '-passout', 'pass:qwerty123', '-out', 'client.p12');
    fake = await startFake(https.createServer({ key: file('server.key'), cert: file('server.crt'), ca: file('ca.crt'), requestCert: true, rejectUnauthorized: true }));
  });
  afterAll(async () => {
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const begin = (tls: BankidBrokerConfig['tls']) => createBankidBroker({ baseUrl: fake.url, tls, timeoutMs: 5000, clock: new ManualClock() }).begin(SUBSTANTIAL, { ip: '192.0.2.7' });

  it('passes with the client certificate as cert + key and as PKCS#12', async () => {
    fake.reply('auth', { json: ORDER }, { json: ORDER });
    await expect(begin({ cert: file('client.crt'), key: file('client.key'), ca: file('ca.crt') })).resolves.toMatchObject({ display: { autoStartToken: 'auto-1' } });
    await expect(begin({ pfx: file('client.p12'), passphrase: 'qwerty123', ca: file('ca.crt') })).resolves.toMatchObject({ display: { autoStartToken: 'auto-1' } });
  });

  it('fails without a client certificate, and against a server it does not trust', async () => {
    for (const tls of [{ ca: file('ca.crt') }, { cert: file('client.crt'), key: file('client.key') }]) {
      const err = await rejection(begin(tls));
      expect(err).toMatchObject({ kind: 'upstream_error', errorCode: undefined });
      expect(err.cause).toMatchObject({ name: 'RpTransportError', reason: 'network' });
    }
  });
});
