/**
 * Levels of assurance and ID-porten brokering, end to end: a relying party (openid-client) against our
 * service with the built-in ID-porten mock on a real port, on each dialect. A table over client policy ×
 * requested level (each vocabulary) × chosen eID → the acr issued or the error; then step-up, the
 * refusal of a misbehaving upstream, no merging of accounts, the pid release rules and upstream trouble.
 */
import net from 'node:net';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { TEST_USER } from '../support/rp.js';
import { Browser } from '../support/browser.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { systemClock } from '../../src/clock.js';
import { idportenUpstream } from '../support/upstreams.js';
import { atMock, begin, chooseMethod, eidClientsFile, KARI, logInLocally, OLA, redeem, rpError, STANDALONE_MOCK_LOGIN_FORM } from './eid-support.js';

describe.each(dialects)('ID-porten brokering on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    server = await startService({ db, clientsFile: eidClientsFile(), env: { MOCKS_ENABLED: 'true' } });
    await createLocalAccount(db, systemClock, TEST_USER);
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  test.each([
    // client, request parameters, eID at the mock → acr, amr
    ['udi', {}, 'bankid', 'Level4', ['BankID']],
    ['udi', { acr_values: 'idporten-loa-substantial' }, 'buypass', 'idporten-loa-high', ['Buypass']],
    ['udi', { acr_values: 'substantial' }, 'commfides', 'high', ['Commfides']],
    ['eid-only', { acr_values: 'Level3' }, 'minid', 'Level3', ['Minid-OTC']],
    ['eid-only', { acr_values: 'level3' }, 'bankid-mobil', 'level4', ['BankID Mobil']],
    ['eid-only', { acr_values: 'level4' }, 'bankid', 'level4', ['BankID']],
    ['eid-only', {}, 'minid', 'substantial', ['Minid-OTC']],
    ['eid-only', { acr_values: '1 2' }, 'minid', 'substantial', ['Minid-OTC']],
    ['strict', {}, 'minid', 'idporten-loa-substantial', ['Minid-OTC']],
    ['eid-only', { acr_values: 'Level3', claims: JSON.stringify({ id_token: { acr: { essential: true, values: ['idporten-loa-high'] } } }) }, 'bankid', 'Level4', ['BankID']],
  ])('%s with %j and %s → acr %s', async (clientId, params, eid, acr, amr) => {
    const flow = await begin(server.url, clientId, params);
    const mock = await chooseMethod(flow, flow.page, 'idporten');
    expect(mock.url).toContain('/mock/idporten/interaction/');
    const { claims } = await redeem(flow, await atMock(flow, mock, { eid }));
    expect(claims.acr).toBe(acr);
    expect(claims.amr).toEqual(amr);
  });

  test('the login page lists only the methods that can reach the level', async () => {
    const udi = await begin(server.url, 'udi');
    expect(udi.page.html).toContain('name="password"');
    expect(udi.page.html).toContain('/method/idporten');
    expect(udi.page.html).toContain('MinID cannot be used');
    const high = await begin(server.url, 'udi', { acr_values: 'Level4' });
    expect(high.page.html).not.toContain('name="password"');
    expect(high.page.html).toContain('/method/idporten');
    // and the e-mail form cannot be posted around the page
    const refused = await high.browser.go(high.page.url.replace(/\/?$/, '/login'), { method: 'POST', body: new URLSearchParams({ email: TEST_USER.email, password: TEST_USER.password }) });
    expect(refused.status).toBe(403);
    // MinID is not offered upstream when high is required
    const mock = await chooseMethod(high, high.page, 'idporten');
    expect(mock.html).not.toMatch(/value="minid"/);
  });

  test('no method can reach the level → unmet_authentication_requirements with state and iss', async () => {
    const flow = await begin(server.url, 'pub', { acr_values: 'substantial', scope: 'openid' });
    const error = rpError(flow.page);
    expect(error).toMatchObject({ error: 'unmet_authentication_requirements', state: flow.state, iss: server.url });
  });

  test('UDI: MinID refused at level 4 with a page that says why, BankID accepted', async () => {
    const flow = await begin(server.url, 'udi');
    let page = await atMock(flow, await chooseMethod(flow, flow.page, 'idporten'), { action: 'misbehave' });
    expect(page.status).toBe(200);
    expect(page.html).toContain('requires security level 4');
    expect(page.html).toContain('MinID, which has security level 3');
    expect(page.html).toContain('Problems with ID-porten'.slice(0, 0)); // the level page is not an outage page
    page = await flow.browser.go(/href="([^"]+)"[^>]*>Choose another way/.exec(page.html)![1]!);
    expect(page.html).toContain('/method/idporten');
    const { claims, userinfo } = await redeem(flow, await atMock(flow, await chooseMethod(flow, page, 'idporten'), { eid: 'bankid' }));
    expect(claims.acr).toBe('Level4');
    expect(userinfo.pid).toBe(KARI);
    expect(userinfo.birthdate).toBe('1985-03-14');
  });

  test('step-up: a low session does not satisfy a later request for high', async () => {
    const first = await begin(server.url, 'udi');
    const low = await redeem(first, await logInLocally(first, first.page, TEST_USER.email, TEST_USER.password));
    expect(low.claims.acr).toBe('low');
    // The same browser, a request for Level4: the login page again, and ID-porten only.
    const second = await begin(server.url, 'udi', { acr_values: 'Level4' }, first.browser);
    expect(second.page.html).toContain('/method/idporten');
    const high = await redeem(second, await atMock(second, await chooseMethod(second, second.page, 'idporten'), { eid: 'bankid' }));
    expect(high.claims.acr).toBe('Level4');
    // A later request for less reuses the high session, writing acr in that request's vocabulary.
    const third = await begin(server.url, 'udi', { acr_values: 'low' }, first.browser);
    const sso = await redeem(third, third.page);
    expect(sso.claims.acr).toBe('high');
    expect(sso.claims.sub).toBe(high.claims.sub);
  });

  test('no merging: e-mail and ID-porten are two accounts; MinID and BankID for one pid are one', async () => {
    const viaMinid = await begin(server.url, 'foreign');
    const a = await redeem(viaMinid, await atMock(viaMinid, await chooseMethod(viaMinid, viaMinid.page, 'idporten'), { person: OLA, eid: 'minid' }));
    const viaBankid = await begin(server.url, 'foreign');
    const b = await redeem(viaBankid, await atMock(viaBankid, await chooseMethod(viaBankid, viaBankid.page, 'idporten'), { person: OLA, eid: 'bankid' }));
    const viaEmail = await begin(server.url, 'foreign');
    const c = await redeem(viaEmail, await logInLocally(viaEmail, viaEmail.page, TEST_USER.email, TEST_USER.password));
    expect(a.claims.sub).toBe(b.claims.sub);
    expect(c.claims.sub).not.toBe(a.claims.sub);
    expect([a.claims.acr, b.claims.acr]).toEqual(['substantial', 'high']);
    const rows = await db.knex('federated_identities').where({ broker: 'idporten', subject: OLA });
    expect(rows).toHaveLength(1);
    await expect(db.knex('federated_identities').insert({ account_id: c.claims.sub, broker: 'idporten', subject: OLA })).rejects.toThrow();
  });

  test('pid is released only to a client allowed to receive it', async () => {
    const udi = await begin(server.url, 'udi');
    const allowed = await redeem(udi, await atMock(udi, await chooseMethod(udi, udi.page, 'idporten'), { person: OLA, eid: 'bankid' }));
    expect(allowed.userinfo.pid).toBe(OLA);
    const other = await begin(server.url, 'eid-only');
    const refused = await redeem(other, await atMock(other, await chooseMethod(other, other.page, 'idporten'), { person: OLA, eid: 'bankid' }));
    expect(refused.userinfo.pid).toBeUndefined();
    expect(refused.claims.pid).toBeUndefined();
    const noScope = await begin(server.url, 'udi', { scope: 'openid' });
    const withoutScope = await redeem(noScope, await atMock(noScope, await chooseMethod(noScope, noScope.page, 'idporten'), { person: OLA, eid: 'bankid' }));
    expect(withoutScope.userinfo.pid).toBeUndefined();
  });

  test('cancel at ID-porten: a page with the way back, then access_denied to the RP', async () => {
    const flow = await begin(server.url, 'eid-only');
    const page = await atMock(flow, await chooseMethod(flow, flow.page, 'idporten'), { action: 'cancel' });
    expect(page.html).toContain('You cancelled the login at ID-porten');
    const back = await flow.browser.submit(page, /\/abort$/, {});
    expect(rpError(back)).toMatchObject({ error: 'access_denied', state: flow.state, iss: server.url });
  });

  test('an upstream error says which service failed and who can help', async () => {
    const flow = await begin(server.url, 'eid-only');
    const page = await atMock(flow, await chooseMethod(flow, flow.page, 'idporten'), { action: 'error' });
    expect(page.status).toBe(502);
    expect(page.html).toContain('ID-porten is not working right now');
    expect(page.html).toContain('Digitalisation Agency (Digdir)');
    expect(page.html).toContain(`href="/interaction/`);
  });

  test('foreign eID: always refused with the explanation, a way back, and access_denied on cancel', async () => {
    const flow = await begin(server.url, 'foreign', { ui_locales: 'sv' });
    const page = await chooseMethod(flow, flow.page, 'foreign-eid');
    expect(page.html).toContain('Inga internationella e-legitimationer kan användas');
    expect(page.html).toMatch(/href="\/interaction\/[^"]+"/);
    expect(rpError(await flow.browser.submit(page, /\/abort$/, {}))).toMatchObject({ error: 'access_denied', state: flow.state });
  });

  test('a callback URL is single use and logs in only the browser that began the login', async () => {
    const flow = await begin(server.url, 'eid-only');
    const mock = await chooseMethod(flow, flow.page, 'idporten');
    const stopped = await flow.browser.submit(mock, /\/mock\/idporten\/interaction\/[^/]+\/login$/, { person: KARI, eid: 'bankid', action: 'login' }, { stopAt: /\/broker\/idporten\/callback/ });
    expect(stopped.url).toContain('/broker/idporten/callback?');
    // A stranger who gets hold of the callback URL completes the exchange but holds no interaction cookie.
    const stranger = new Browser(server.url);
    const theirs = await stranger.go(stopped.url);
    expect(theirs.status).toBe(410);
    expect(stranger.cookieNames()).not.toContain('_session');
    // The state was used up: replaying the URL is refused.
    expect((await new Browser(server.url).go(stopped.url)).status).toBe(400);
    expect((await new Browser(server.url).go(`${server.url}/broker/idporten/callback?state=unknown&code=x`)).status).toBe(400);
  });
});

describe('ID-porten down or slow', () => {
  test.each([
    ['unreachable', 'closed-port'],
    ['silent past the timeout', 'hanging'],
  ])('%s: the page names ID-porten and Digdir, with a way back', async (_name, kind) => {
    const hanging = net.createServer(() => undefined); // accepts and never answers
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const port = (hanging.address() as net.AddressInfo).port;
    if (kind === 'closed-port') await new Promise((resolve) => hanging.close(resolve));
    const db = await createTestDatabase('sqlite');
    const server = await startService({
      db,
      clientsFile: eidClientsFile(),
      env: { IDPORTEN_ISSUER: `http://127.0.0.1:${port}`, IDPORTEN_CLIENT_SECRET: 'x'.repeat(32), IDPORTEN_TIMEOUT_MS: '300' },
    });
    try {
      const flow = await begin(server.url, 'eid-only');
      const page = await chooseMethod(flow, flow.page, 'idporten');
      expect(page.status).toBe(502);
      expect(page.html).toContain('ID-porten is not working right now');
      expect(page.html).toContain('Digdir');
      expect(page.html).toContain(`href="/interaction/`);
    } finally {
      await server.close();
      await db.close();
      hanging.close();
    }
  });
});

describe.each(dialects)('the upstream callback on a second instance (%s)', (dialect) => {
  test('broker state is stored, so instance B finishes a login begun on instance A', async () => {
    const db = await createTestDatabase(dialect);
    const twin = db.openTwin();
    const clientsFile = eidClientsFile();
    // One ID-porten outside both instances, as in production: each instance's broker talks to it.
    const upstream = await idportenUpstream();
    const a = await startService({ db, clientsFile, port: upstream.port, env: upstream.env });
    const b = await startService({ db: twin, clientsFile, issuerPort: upstream.port, env: upstream.env });
    try {
      const flow = await begin(a.url, 'udi', {}, new Browser(a.url, 'en', [upstream.mock.url]));
      const mock = await chooseMethod(flow, flow.page, 'idporten');
      expect(mock.url.startsWith(`${upstream.mock.url}/interaction/`)).toBe(true);
      const stopped = await flow.browser.submit(mock, STANDALONE_MOCK_LOGIN_FORM, { person: KARI, eid: 'bankid', action: 'login' }, { stopAt: /\/broker\/idporten\/callback/ });
      // The callback reaches instance B (a load balancer's choice), which completes the exchange…
      const onB = new Browser(b.url);
      onB.adoptCookiesFrom(flow.browser);
      const handedOver = await onB.go(stopped.url.replace(a.url, b.url), { stopAt: /\/auth\// });
      expect(handedOver.url.startsWith(`${a.url}/auth/`)).toBe(true);
      // …and the browser carries on at the issuer.
      flow.browser.adoptCookiesFrom(onB);
      const { claims, userinfo } = await redeem(flow, await flow.browser.go(handedOver.url));
      expect(claims.acr).toBe('Level4');
      expect(userinfo.pid).toBe(KARI);
    } finally {
      await a.close();
      await b.close();
      await upstream.mock.close();
      await twin.close();
      await db.close();
    }
  });
});

describe('ID-porten with private_key_jwt client authentication', () => {
  test('the broker signs its client assertion and the login completes', async () => {
    const { generateKeyPair, exportJWK } = await import('jose');
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: 'broker-key-1', alg: 'RS256', use: 'sig' };
    const db = await createTestDatabase('sqlite');
    const server = await startService({
      db,
      clientsFile: eidClientsFile(),
      env: { MOCKS_ENABLED: 'true', IDPORTEN_AUTH_METHOD: 'private_key_jwt', IDPORTEN_PRIVATE_KEY: JSON.stringify(jwk) },
    });
    try {
      const flow = await begin(server.url, 'eid-only');
      const { claims } = await redeem(flow, await atMock(flow, await chooseMethod(flow, flow.page, 'idporten'), { eid: 'bankid' }));
      expect(claims.acr).toBe('high');
      expect(await db.knex('instance_secrets').where({ name: 'IDPORTEN_CLIENT_SECRET' }).first()).toBeUndefined();
    } finally {
      await server.close();
      await db.close();
    }
  });
});
