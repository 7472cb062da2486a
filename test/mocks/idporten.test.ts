/**
 * The ID-porten mock, black-box over HTTP on a real port, both ways it runs: mounted under /mock/idporten
 * in a tiny koa app whose own cookie keys differ from the mock's (as our service mounts it), and on a port
 * of its own (as tests use it, like the real ID-porten); openid-client is the relying party. Covers the
 * checklist of shared/reference/ID-PORTEN.md: discovery, PKCE S256, state and nonce, `iss` in the response,
 * acr as a minimum, eIDs by level, the id_token's claims (`sid` only for a client registered for logout),
 * client authentication methods, outcomes, logout with its logout token, a clock of its own, and its state
 * being its own.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import * as oidc from 'openid-client';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { Browser, type Page } from '../support/browser.js';
import { createIdportenMock, startIdportenMock, SYNTHETIC_PERSONS, type MockClient } from '../../mocks/idporten/index.js';
import { isValidNorwegianId, makeNorwegianTestId, parseNorwegianId } from '../../src/policies/national-id.js';
import { ManualClock } from '../support/manual-clock.js';

const RP = 'http://127.0.0.1:8999/callback';
const LOGGED_OUT = 'http://127.0.0.1:8999/logged-out';
const SECRET = 'mock-secret-0123456789abcdef0123456789abcdef';
const insecure = { execute: [oidc.allowInsecureRequests] };
const KARI = SYNTHETIC_PERSONS[0]!;

interface Running {
  url: string;
  issuer: string;
  /** '' on its own port, /mock/idporten when mounted. */
  basePath: string;
  close(): Promise<void>;
}

type Start = (clients: MockClient[], clock: ManualClock) => Promise<Running>;

/** Mounted as the composition root mounts it: in a host app of its own, under a path. */
const mounted: Start = async (clients, clock) => {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const mock = await createIdportenMock({ issuer: `${url}/mock/idporten`, now: () => clock.now(), clients });
  const app = new Koa({ keys: ['the outer app signs with this, never the mock'] });
  app.use(mock.middleware);
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = 'outer app';
  });
  server.on('request', app.callback());
  return {
    url,
    issuer: mock.issuer,
    basePath: '/mock/idporten',
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

const standalone: Start = async (clients, clock) => ({ ...(await startIdportenMock({ clients, now: () => clock.now() })), basePath: '' });

/** Collects the logout tokens the mock sends to a client's backchannel_logout_uri. */
async function logoutReceiver(): Promise<{ url: string; tokens: string[]; close(): Promise<void> }> {
  const tokens: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      tokens.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/backchannel`, tokens, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe.each([
  ['mounted under /mock/idporten', mounted],
  ['on a port of its own', standalone],
])('ID-porten mock %s', (_how, start) => {
  let mock: Running;
  let receiver: Awaited<ReturnType<typeof logoutReceiver>>;
  let clients: MockClient[];
  let signingKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    receiver = await logoutReceiver();
    const pair = await generateKeyPair('RS256');
    signingKey = pair.privateKey;
    clients = [
      { client_id: 'basic', client_secret: SECRET, redirect_uris: [RP], post_logout_redirect_uris: [LOGGED_OUT], token_endpoint_auth_method: 'client_secret_basic', backchannel_logout_uri: receiver.url },
      { client_id: 'post', client_secret: SECRET, redirect_uris: [RP], token_endpoint_auth_method: 'client_secret_post' },
      { client_id: 'jwt', redirect_uris: [RP], token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'rp-1', alg: 'RS256', use: 'sig' }] } },
      { client_id: 'public', redirect_uris: [RP], token_endpoint_auth_method: 'none' },
    ];
    mock = await start(clients, clock);
  });
  afterAll(async () => {
    await mock.close();
    await receiver.close();
  });

  const discover = (clientId = 'basic', auth: oidc.ClientAuth = oidc.ClientSecretBasic(SECRET)) =>
    oidc.discovery(new URL(mock.issuer), clientId, {}, auth, insecure);

  /** Sends the browser to the authorization endpoint; `undefined` drops a parameter. */
  async function authorize(config: oidc.Configuration, params: Record<string, string | undefined> = {}, browser = new Browser(mock.url)) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const all: Record<string, string | undefined> = {
      redirect_uri: RP,
      scope: 'openid',
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      ...params,
    };
    const defined = Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined));
    const page = await browser.go(oidc.buildAuthorizationUrl(config, defined).toString());
    return { page, browser, verifier, state, nonce };
  }

  async function login(config: oidc.Configuration, params: Record<string, string | undefined>, fields: Record<string, string>) {
    const started = await authorize(config, params);
    expect(started.page.status).toBe(200);
    const done = await started.browser.submit(started.page, /\/login$/, fields);
    expect(done.url.startsWith(RP)).toBe(true);
    return { ...started, callback: new URL(done.url) };
  }

  async function redeem(config: oidc.Configuration, flow: { callback: URL; verifier: string; state: string; nonce: string }) {
    return oidc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
  }

  /** The parameters of an authorization response, from the query or (for implicit response types) the fragment. */
  const errorOf = (page: Page) => {
    const url = new URL(page.url);
    return Object.fromEntries(url.hash ? new URLSearchParams(url.hash.slice(1)) : url.searchParams);
  };

  test('discovery: exact issuer, code flow with S256 only, endpoints under the issuer; a host app keeps its other paths', async () => {
    const res = await fetch(`${mock.issuer}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const meta = (await res.json()) as Record<string, unknown>;
    expect(meta.issuer).toBe(`${mock.url}${mock.basePath}`);
    expect(meta.response_types_supported).toEqual(['code']);
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.authorization_response_iss_parameter_supported).toBe(true);
    expect(meta.id_token_signing_alg_values_supported).toEqual(['RS256']);
    expect(meta.acr_values_supported).toEqual(['idporten-loa-substantial', 'idporten-loa-high']);
    expect(meta.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']));
    for (const key of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'end_session_endpoint']) {
      expect(String(meta[key]).startsWith(`${mock.issuer}/`)).toBe(true);
    }
    const jwks = (await (await fetch(String(meta.jwks_uri))).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(jwks.keys[0]!.d).toBeUndefined();
    if (mock.basePath) {
      expect(await (await fetch(`${mock.url}/elsewhere`)).text()).toBe('outer app');
      expect(await (await fetch(`${mock.url}/mock/idportenx/.well-known/openid-configuration`)).text()).toBe('outer app');
    }
  });

  test('MinID at substantial: the id_token carries pid, acr, amr, locale from ui_locales, nonce, sid; userinfo gives sub and pid', async () => {
    const config = await discover();
    const flow = await login(config, { acr_values: 'idporten-loa-substantial', ui_locales: 'en' }, { person: KARI.pid, eid: 'minid' });
    expect(flow.callback.searchParams.get('iss')).toBe(mock.issuer);
    expect(flow.browser.cookieNames()).toEqual(expect.arrayContaining(['_idporten_session']));
    expect(flow.browser.cookieNames().filter((n) => !n.startsWith('_idporten_'))).toEqual([]);
    const tokens = await redeem(config, flow);
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('RS256');
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ iss: mock.issuer, aud: 'basic', acr: 'idporten-loa-substantial', amr: ['Minid-OTC'], pid: KARI.pid, locale: 'en', nonce: flow.nonce });
    expect(isValidNorwegianId(String(claims.pid))).toBe(true);
    expect(typeof claims.sid).toBe('string');
    expect(typeof claims.auth_time).toBe('number');
    expect(claims.at_hash).toBeUndefined();
    expect(claims.name).toBeUndefined();
    expect(claims.sub).not.toContain(KARI.pid);
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    expect(userinfo).toMatchObject({ sub: claims.sub, pid: KARI.pid });
  });

  test("cookies: the mock's own names, scoped to its path", async () => {
    const url = oidc.buildAuthorizationUrl(await discover(), {
      redirect_uri: RP,
      scope: 'openid',
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(303);
    const cookies = res.headers.getSetCookie();
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) {
      expect(cookie).toMatch(/^_idporten_(interaction|resume)(\.sig)?=/);
      expect(cookie).toContain(`path=${mock.basePath}/`);
      expect(cookie).toMatch(/httponly/i);
    }
  });

  test('sub is pairwise: stable for one client, different for another', async () => {
    const subOf = async (config: oidc.Configuration) => (await redeem(config, await login(config, {}, { person: KARI.pid, eid: 'minid' }))).claims()!.sub;
    const basic = await discover();
    const post = await discover('post', oidc.ClientSecretPost(SECRET));
    const first = await subOf(basic);
    expect(await subOf(basic)).toBe(first);
    expect(await subOf(post)).not.toBe(first);
  });

  test('sid only for a client registered for logout, as ID-porten does', async () => {
    const post = await discover('post', oidc.ClientSecretPost(SECRET));
    const claims = (await redeem(post, await login(post, {}, { person: KARI.pid, eid: 'minid' }))).claims()!;
    expect(claims.pid).toBe(KARI.pid);
    expect(claims.sid).toBeUndefined();
  });

  test('BankID when Level4 is asked: idporten-loa-high, default locale nb, name with the profile scope; other high eIDs', async () => {
    const config = await discover();
    const flow = await login(config, { acr_values: 'Level4', scope: 'openid profile' }, { person: KARI.pid, eid: 'bankid' });
    const claims = (await redeem(config, flow)).claims()!;
    expect(claims).toMatchObject({ acr: 'idporten-loa-high', amr: ['BankID'], pid: KARI.pid, locale: 'nb', name: KARI.name });
    for (const [eid, amr] of [['bankid-mobil', 'BankID Mobil'], ['buypass', 'Buypass'], ['commfides', 'Commfides']] as const) {
      const other = (await redeem(config, await login(config, { acr_values: 'high' }, { person: KARI.pid, eid }))).claims()!;
      expect(other).toMatchObject({ acr: 'idporten-loa-high', amr: [amr] });
    }
  });

  test.each(['Level4', 'idporten-loa-high', 'high'])('MinID is not offered when %s is asked', async (acr) => {
    const { page } = await authorize(await discover(), { acr_values: acr });
    expect(page.status).toBe(200);
    expect(page.html).not.toContain('value="minid"');
    for (const eid of ['bankid', 'bankid-mobil', 'buypass', 'commfides']) expect(page.html).toContain(`value="${eid}"`);
    // Another browser, without this login's interaction cookie, gets the "expired" page.
    const stranger = await new Browser(mock.url).go(page.url);
    expect(stranger.status).toBe(410);
  });

  test('a forged eID choice is refused with a message, a forged CSRF token too; the page is accessible and script-free', async () => {
    const started = await authorize(await discover(), { acr_values: 'Level4' });
    expect(started.page.html).toContain('href="/static/style.css"');
    expect(started.page.html).not.toMatch(/<script|style=/);
    for (const id of [...started.page.html.matchAll(/<input[^>]*type="(?:radio|text)"[^>]*id="([^"]+)"/g)].map((m) => m[1])) {
      expect(started.page.html).toContain(`<label for="${id}"`);
    }
    const page = await started.browser.submit(started.page, /\/login$/, { person: KARI.pid, eid: 'minid' });
    expect(page.status).toBe(400);
    expect(page.html).toContain('role="alert"');
    expect((await started.browser.submit(page, /\/login$/, { _csrf: 'forged', person: KARI.pid, eid: 'bankid' })).status).toBe(403);
  });

  test('a typed pid: an invalid one is refused with a message, a valid one logs in', async () => {
    const config = await discover();
    const started = await authorize(config);
    const bad = await started.browser.submit(started.page, /\/login$/, { pid: '12345678901', eid: 'minid' });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('aria-invalid="true"');
    const pid = makeNorwegianTestId('2001-12-24', 501, { tenor: true })!;
    const done = await started.browser.submit(bad, /\/login$/, { pid: ` ${pid} `, eid: 'minid' });
    const claims = (await redeem(config, { ...started, callback: new URL(done.url) })).claims()!;
    expect(claims.pid).toBe(pid);
  });

  test('cancel gives access_denied and upstream error gives server_error, each with state and iss', async () => {
    const config = await discover();
    for (const [action, error] of [['cancel', 'access_denied'], ['error', 'server_error']]) {
      const started = await authorize(config);
      const page = await started.browser.submit(started.page, /\/login$/, { action: action! });
      expect(errorOf(page)).toMatchObject({ error, state: started.state, iss: mock.issuer });
    }
  });

  test('misbehave: asked for high, answers MinID at substantial', async () => {
    const config = await discover();
    const flow = await login(config, { acr_values: 'Level4' }, { person: KARI.pid, eid: 'bankid', action: 'misbehave' });
    expect((await redeem(config, flow)).claims()).toMatchObject({ acr: 'idporten-loa-substantial', amr: ['Minid-OTC'] });
  });

  test('state, nonce and S256 PKCE are mandatory', async () => {
    const config = await discover();
    const noState = await authorize(config, { state: undefined });
    expect(errorOf(noState.page)).toMatchObject({ error: 'invalid_request', iss: mock.issuer });
    expect(errorOf(noState.page).error_description).toMatch(/state/);
    const noNonce = await authorize(config, { nonce: undefined });
    expect(errorOf(noNonce.page)).toMatchObject({ error: 'invalid_request', state: noNonce.state, iss: mock.issuer });
    expect(errorOf(noNonce.page).error_description).toMatch(/nonce/);
    const plain = await authorize(config, { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' });
    expect(errorOf(plain.page)).toMatchObject({ error: 'invalid_request', iss: mock.issuer });
    const noPkce = await authorize(config, { code_challenge: undefined, code_challenge_method: undefined });
    expect(errorOf(noPkce.page)).toMatchObject({ error: 'invalid_request', iss: mock.issuer });
    const implicit = await authorize(config, { response_type: 'id_token' });
    expect(errorOf(implicit.page).error).toBe('unsupported_response_type');
  });

  test('each client must use its registered authentication method', async () => {
    const wrong = await discover('post', oidc.ClientSecretBasic(SECRET));
    const flow = await login(wrong, {}, { person: KARI.pid, eid: 'minid' });
    await expect(redeem(wrong, flow)).rejects.toMatchObject({ status: 401 });
    // Both ways round, at the token endpoint directly: client authentication fails before the code is looked at.
    const grant = { grant_type: 'authorization_code', code: 'x', redirect_uri: RP, code_verifier: 'a'.repeat(43) };
    const basicAuth = `Basic ${Buffer.from(`post:${SECRET}`).toString('base64')}`;
    for (const [headers, body] of [[{ authorization: basicAuth }, grant], [{}, { ...grant, client_id: 'basic', client_secret: SECRET }]] as const) {
      const res = await fetch(wrong.serverMetadata().token_endpoint!, { method: 'POST', headers, body: new URLSearchParams(body) });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: 'invalid_client' });
    }
    const right = await discover('post', oidc.ClientSecretPost(SECRET));
    const tokens = await redeem(right, await login(right, {}, { person: KARI.pid, eid: 'minid' }));
    expect(tokens.claims()!.pid).toBe(KARI.pid);
  });

  test('private_key_jwt client logs in; a public client gets no refresh token', async () => {
    const jwt = await discover('jwt', oidc.PrivateKeyJwt({ key: signingKey, kid: 'rp-1' }));
    expect((await redeem(jwt, await login(jwt, {}, { person: KARI.pid, eid: 'minid' }))).claims()!.pid).toBe(KARI.pid);
    const pub = await discover('public', oidc.None());
    const tokens = await redeem(pub, await login(pub, {}, { person: KARI.pid, eid: 'minid' }));
    expect(tokens.refresh_token).toBeUndefined();
  });

  test('a MinID session satisfies substantial again but high needs a new login; logout ends the session', async () => {
    const config = await discover();
    const first = await login(config, {}, { person: SYNTHETIC_PERSONS[1]!.pid, eid: 'minid' });
    const tokens = await redeem(config, first);
    const sso = await authorize(config, {}, first.browser);
    expect(sso.page.url.startsWith(RP)).toBe(true);
    const stepUp = await authorize(config, { acr_values: 'Level4' }, first.browser);
    expect(stepUp.page.html).toContain('value="bankid"');
    const stepped = await stepUp.browser.submit(stepUp.page, /\/login$/, { person: SYNTHETIC_PERSONS[1]!.pid, eid: 'bankid' });
    expect((await redeem(config, { ...stepUp, callback: new URL(stepped.url) })).claims()).toMatchObject({ acr: 'idporten-loa-high' });

    const endSession = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: LOGGED_OUT, state: 'bye' });
    const confirm = await first.browser.go(endSession.toString());
    expect(confirm.status).toBe(200);
    const sent = receiver.tokens.length;
    const after = await first.browser.submit(confirm, /\/logout\/confirm$/, { logout: 'yes' });
    expect(after.url).toBe(`${LOGGED_OUT}?state=bye`);
    // The client registered for logout hears of it, with the session id its id_token carried.
    expect(receiver.tokens).toHaveLength(sent + 1);
    expect(decodeJwt(receiver.tokens.at(-1)!)).toMatchObject({ iss: mock.issuer, aud: 'basic', sid: tokens.claims()!.sid });
    const again = await authorize(config, {}, first.browser);
    expect(again.page.status).toBe(200);
    expect(again.page.html).toContain('name="person"');
  });

  test("time is the mock's own: an interaction expires when its clock passes half an hour", async () => {
    const started = await authorize(await discover());
    expect(started.page.status).toBe(200);
    clock.advance(31 * 60_000);
    expect((await started.browser.go(started.page.url)).status).toBe(410);
  });

  test('each mock is an upstream of its own: its own signing key, and a login begun at one is unknown to another', async () => {
    const other = await start(clients, clock);
    try {
      const jwks = async (r: Running) => (await fetch(`${r.issuer}/jwks.json`)).json();
      expect(await jwks(other)).not.toEqual(await jwks(mock));
      const started = await authorize(await discover());
      const elsewhere = new Browser(other.url);
      elsewhere.adoptCookiesFrom(started.browser);
      expect((await elsewhere.go(started.page.url.replace(mock.url, other.url))).status).toBe(410);
    } finally {
      await other.close();
    }
  });

  test('every synthetic person has a valid pid of the kind it claims', () => {
    expect(SYNTHETIC_PERSONS.length).toBeGreaterThanOrEqual(6);
    const parsed = SYNTHETIC_PERSONS.map((p) => parseNorwegianId(p.pid)!);
    expect(parsed.every(Boolean)).toBe(true);
    expect(parsed.some((p) => p.kind === 'fodselsnummer' && p.synthetic === null)).toBe(true);
    expect(parsed.some((p) => p.kind === 'd-number')).toBe(true);
    expect(parsed.some((p) => p.synthetic === 'tenor')).toBe(true);
    expect(parsed.some((p) => (p.birthdate ?? '') >= '2010-01-01')).toBe(true);
    expect(parsed.some((p) => (p.birthdate ?? '9999') < '1930-01-01')).toBe(true);
  });
});

describe("the mock's own pid check", () => {
  test('agrees with the product on numbers of every kind, and refuses a wrong check digit or date', async () => {
    const { isNorwegianId } = await import('../../mocks/idporten/pid.js');
    const made = ['1985-03-14', '1990-11-23', '2014-05-20', '1921-02-28', '2000-02-29'].flatMap((date) =>
      [{}, { dNumber: true }, { tenor: true }, { dNumber: true, tenor: true }].flatMap((kind) => [12, 345, 501, 777].map((n) => makeNorwegianTestId(date, n, kind))),
    );
    const valid = made.filter((pid): pid is string => pid !== undefined);
    expect(valid.length).toBeGreaterThan(30);
    for (const pid of valid) expect([pid, isNorwegianId(pid)]).toEqual([pid, true]);
    for (const pid of ['12345678901', '14038541287', '32038541286', '1403854128', '14138541286']) expect([pid, isNorwegianId(pid)]).toEqual([pid, parseNorwegianId(pid) !== undefined]);
  });
});
