/**
 * A hostile or broken ID-porten, end to end on each dialect: the ID-porten mock, on a port of its own and
 * configured as the upstream (IDPORTEN_ISSUER) as a foreign party would be, spoils the id_token in one
 * way at a time (wrong nonce, iss or aud, a stranger's signature, expired, no pid, a pid that fails the
 * mod-11 check, no acr), and a callback URL is replayed. Each is refused with the broker error page (never
 * a 500), leaves an audit_events row, and logs no one in: no session cookie, no federated account, and
 * the next request from that browser still asks who is there.
 */
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { idportenUpstream, type IdportenUpstream } from '../support/upstreams.js';
import { Browser, type Page } from '../support/browser.js';
import { atMock as atMounted, begin as beginAt, chooseMethod, eidClientsFile, KARI, OLA, redeem, STANDALONE_MOCK_LOGIN_FORM, type Flow } from './eid-support.js';

/** Each fault, and what the log says was wrong (so each is refused by its own check, not by another). */
const FAULTS = [
  ['wrong-nonce', 'ID Token \\"nonce\\" claim'],
  ['wrong-iss', '\\"iss\\" (issuer) claim'],
  ['wrong-aud', '\\"aud\\" (audience) claim'],
  ['bad-signature', 'JWT signature verification failed'],
  ['expired', '\\"exp\\" (expiration time) claim'],
  ['missing-pid', 'the id_token has no valid pid'],
  ['invalid-pid', 'the id_token has no valid pid'],
  ['missing-acr', 'unknown acr'],
] as const;

describe.each(dialects)('a misbehaving ID-porten on %s', (dialect) => {
  let db: TestDatabase;
  let upstream: IdportenUpstream;
  let server: RunningService;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    upstream = await idportenUpstream();
    server = await startService({ db, clientsFile: eidClientsFile(), port: upstream.port, env: upstream.env });
  });
  afterAll(async () => {
    await server.close();
    await upstream.mock.close();
    await db.close();
  });

  /** Our login page, in a browser that may follow the person to ID-porten and back. */
  const begin = (clientId: string, browser = new Browser(server.url, 'en', [upstream.mock.url])) => beginAt(server.url, clientId, {}, browser);
  const atMock = (flow: Flow, page: Page, fields: Parameters<typeof atMounted>[2]) => atMounted(flow, page, fields, STANDALONE_MOCK_LOGIN_FORM);

  const failures = async () => (await db.knex('audit_events').where({ event: 'login.idporten', outcome: 'failure' }).orderBy('id')).map((r) => ({ client: r.client_id, ...JSON.parse(r.detail) }));
  const successes = async () => Number((await db.knex('audit_events').where({ event: 'login.idporten', outcome: 'success' }).count({ n: '*' }))[0]!.n);

  test.each(FAULTS)('%s: the broker error page, an audit entry, nobody logged in', async (fault, logged) => {
    const before = (await failures()).length;
    const flow = await begin('eid-only');
    const page = await atMock(flow, await chooseMethod(flow, flow.page, 'idporten'), { person: OLA, eid: 'bankid', action: 'misbehave', misbehaviour: fault });
    expect(page.url).toMatch(/\/interaction\/[^/]+\/broker\/idporten\/done$/);
    expect(page.status).toBe(502);
    expect(page.html).toContain('The answer from ID-porten could not be verified');
    expect(page.html).toContain('Digitalisation Agency (Digdir)');
    expect(page.html).toMatch(/href="\/interaction\/[^"]+"/);
    const audited = await failures();
    expect(audited).toHaveLength(before + 1);
    expect(audited.at(-1)).toEqual({ client: 'eid-only', reason: 'invalid_response' });
    expect(await successes()).toBe(0);
    expect(flow.browser.cookieNames()).not.toContain('_session');
    expect(await db.knex('federated_identities').where({ broker: 'idporten' })).toHaveLength(0);
    // The same browser is still nobody: the next request shows the login page, not a code for the RP.
    const again = await begin('eid-only', flow.browser);
    expect(again.page.html).toContain('/method/idporten');
    // Neither the pid nor the mock's faulty token reached the log.
    expect(server.logs.join('')).not.toContain(OLA);
    expect(server.logs.filter((l) => l.includes('upstream login failed')).at(-1)).toContain(logged);
  });

  test('a fault applies once: the next login through the same mock succeeds', async () => {
    const bad = await begin('eid-only');
    expect((await atMock(bad, await chooseMethod(bad, bad.page, 'idporten'), { action: 'misbehave', misbehaviour: 'wrong-aud' })).status).toBe(502);
    const good = await begin('eid-only');
    const { claims } = await redeem(good, await atMock(good, await chooseMethod(good, good.page, 'idporten'), { eid: 'bankid' }));
    expect(claims.acr).toBe('high');
    await db.knex('federated_identities').where({ broker: 'idporten' }).del();
    await db.knex('audit_events').where({ event: 'login.idporten', outcome: 'success' }).del();
  });

  test('the control endpoint arms a fault for the next id_token, and refuses an unknown one', async () => {
    const control = `${upstream.mock.url}/control/misbehave`;
    const post = (body: unknown) => fetch(control, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post({ misbehaviour: 'teleport' })).status).toBe(400);
    expect((await fetch(control)).status).toBe(405);
    const armed = await post({ misbehaviour: 'invalid-pid' });
    expect(await armed.json()).toEqual({ misbehaviour: 'invalid-pid' });
    const flow = await begin('eid-only');
    const page = await atMock(flow, await chooseMethod(flow, flow.page, 'idporten'), { eid: 'bankid' });
    expect(page.status).toBe(502);
    expect((await failures()).at(-1)).toEqual({ client: 'eid-only', reason: 'invalid_response' });
    // Armed and disarmed again: a faithful login.
    await post({ misbehaviour: 'missing-acr' });
    expect((await post({ misbehaviour: 'none' })).status).toBe(200);
    const good = await begin('eid-only');
    expect((await redeem(good, await atMock(good, await chooseMethod(good, good.page, 'idporten'), { eid: 'minid' }))).claims.acr).toBe('substantial');
    await db.knex('federated_identities').where({ broker: 'idporten' }).del();
    await db.knex('audit_events').where({ event: 'login.idporten', outcome: 'success' }).del();
  });

  test('state reuse: a replayed callback gets the broker error page and an audit entry, and logs no one in', async () => {
    const flow = await begin('eid-only');
    const mock = await chooseMethod(flow, flow.page, 'idporten');
    const callback = await flow.browser.submit(mock, STANDALONE_MOCK_LOGIN_FORM, { person: KARI, eid: 'bankid', action: 'login' }, { stopAt: /\/broker\/idporten\/callback/ });
    expect(callback.url).toContain('/broker/idporten/callback?');
    const audited = (await failures()).length;
    const loggedIn = await successes();
    // First use, stopped before the interaction takes the outcome.
    const done = await flow.browser.go(callback.url, { stopAt: /\/broker\/idporten\/done$/ });
    expect(done.url).toMatch(/\/broker\/idporten\/done$/);
    // The same URL again, from the person's own browser (its interaction still open) and from a stranger.
    const stranger = new Browser(server.url);
    for (const browser of [flow.browser, stranger]) {
      const replay = await browser.go(callback.url);
      expect(replay.status).toBe(400);
      expect(replay.html).toContain('This login link has already been used');
      expect(replay.html).toContain('someone may have copied the link');
      expect(replay.html).toMatch(/href="\/interaction\/[^"]+"/);
    }
    expect(stranger.cookieNames()).not.toContain('_session');
    expect((await failures()).slice(audited)).toEqual([
      { client: 'eid-only', reason: 'state_reused' },
      { client: 'eid-only', reason: 'state_reused' },
    ]);
    expect(await successes()).toBe(loggedIn);
    // The first use still logs its own browser in, once; after that a replay is refused just the same.
    const { claims } = await redeem(flow, await flow.browser.go(done.url));
    expect(claims.acr).toBe('high');
    expect(await successes()).toBe(loggedIn + 1);
    const late = await new Browser(server.url, 'nb').go(callback.url);
    expect(late.status).toBe(400);
    // in the language of the login it replays, not the replayer's
    expect(late.html).toContain('This login link has already been used');
    expect((await failures()).length).toBe(audited + 3);
    expect(await successes()).toBe(loggedIn + 1);
  });

  test('concurrent replays of one callback: exactly one takes the login, every other is refused and audited', async () => {
    const flow = await begin('eid-only');
    const mock = await chooseMethod(flow, flow.page, 'idporten');
    const callback = await flow.browser.submit(mock, STANDALONE_MOCK_LOGIN_FORM, { person: KARI, eid: 'bankid', action: 'login' }, { stopAt: /\/broker\/idporten\/callback/ });
    const audited = (await failures()).length;
    const RACERS = 6;
    const answers = await Promise.all(Array.from({ length: RACERS }, () => fetch(callback.url, { redirect: 'manual', headers: { accept: 'text/html' } })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([303, ...Array<number>(RACERS - 1).fill(400)]);
    expect((await failures()).slice(audited)).toEqual(Array.from({ length: RACERS - 1 }, () => ({ client: 'eid-only', reason: 'state_reused' })));
    // The winner's outcome waits for the browser that owns the interaction.
    const winner = answers.find((a) => a.status === 303)!;
    const before = await successes();
    const { claims } = await redeem(flow, await flow.browser.go(new URL(winner.headers.get('location')!, server.url).toString()));
    expect(claims.acr).toBe('high');
    expect(await successes()).toBe(before + 1);
  });
});
