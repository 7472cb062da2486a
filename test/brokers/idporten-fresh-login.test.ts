/**
 * A relying party's demand for a fresh login (prompt=login, max_age), carried to ID-porten and checked on
 * its answer, end to end on each dialect against the built-in mock (which keeps its own single sign-on
 * session and honours the demand, as ID-porten does). Then the pure rules of src/brokers/freshness.ts.
 */
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import type { Browser } from '../support/browser.js';
import { atMock, begin, chooseMethod, eidClientsFile, redeem, type Flow } from './eid-support.js';
import { CLOCK_SKEW_SECONDS, freshnessDemand, stalenessOf } from '../../src/brokers/freshness.js';

const MOCK_PAGE = /\/mock\/idporten\/interaction\//;
const MOCK_AUTHORIZE = /\/mock\/idporten\/authorize\?/;
/** Asks for auth_time in the id_token (the test clients do not require it). */
const WITH_AUTH_TIME = { claims: JSON.stringify({ id_token: { auth_time: { essential: true } } }) };

/** Our own session cookies only: the mock's (`_idporten_*`) stay, as in a browser with two sites. */
function forgetOurSession(browser: Browser): void {
  for (const name of ['_session', '_session.sig', '_session.legacy', '_session.legacy.sig']) browser.forget(name);
}

describe.each(dialects)('a fresh login through ID-porten on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    server = await startService({ db, clientsFile: eidClientsFile(), env: { MOCKS_ENABLED: 'true' } });
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  const lastFailure = async () => {
    const row = await db.knex('audit_events').where({ event: 'login.idporten', outcome: 'failure' }).orderBy('id', 'desc').first();
    return row ? JSON.parse(row.detail) : undefined;
  };
  const successes = async () => Number((await db.knex('audit_events').where({ event: 'login.idporten', outcome: 'success' }).count({ n: '*' }))[0]!.n);
  const misbehave = (flow: Flow, page: Parameters<typeof atMock>[1], misbehaviour: string) => atMock(flow, page, { eid: 'bankid', action: 'misbehave', misbehaviour });

  test.each([
    [{ prompt: 'login' }, { prompt: 'login', max_age: null }],
    [{ max_age: '600' }, { prompt: null, max_age: '600' }],
    // oidc-provider reads max_age=0 as prompt=login (OIDC Core §3.1.2.1), and so does ID-porten then.
    [{ max_age: '0' }, { prompt: 'login', max_age: null }],
    [{}, { prompt: null, max_age: null }],
  ])('the RP asks %j → ID-porten is asked %j', async (params, upstream) => {
    const flow = await begin(server.url, 'eid-only', params);
    const stopped = await flow.browser.submit(flow.page, /\/method\/idporten$/, {}, { stopAt: MOCK_AUTHORIZE });
    const sent = new URL(stopped.url).searchParams;
    expect({ prompt: sent.get('prompt'), max_age: sent.get('max_age') }).toEqual(upstream);
  });

  test('the mock keeps its own SSO session, yet logs the person in again when prompt=login is passed on', async () => {
    const first = await begin(server.url, 'eid-only', WITH_AUTH_TIME);
    const one = await redeem(first, await atMock(first, await chooseMethod(first, first.page, 'idporten'), { eid: 'bankid' }));
    // Without a demand, ID-porten's session answers at once: no page of the mock's.
    forgetOurSession(first.browser);
    const sso = await begin(server.url, 'eid-only', {}, first.browser);
    const ssoAnswer = await chooseMethod(sso, sso.page, 'idporten');
    expect(ssoAnswer.url).not.toMatch(MOCK_PAGE);
    const two = await redeem(sso, ssoAnswer);
    expect(two.claims.sub).toBe(one.claims.sub);
    // With prompt=login, our login page and then the mock's own login page again, despite its session.
    const fresh = await begin(server.url, 'eid-only', { prompt: 'login', ...WITH_AUTH_TIME }, first.browser);
    expect(fresh.page.html).toContain('/method/idporten');
    const mock = await chooseMethod(fresh, fresh.page, 'idporten');
    expect(mock.url).toMatch(MOCK_PAGE);
    const three = await redeem(fresh, await atMock(fresh, mock, { eid: 'bankid' }));
    expect(three.claims.sub).toBe(one.claims.sub);
    expect(three.claims.auth_time).toBeGreaterThanOrEqual(one.claims.auth_time!);
  });

  test('prompt=login answered from an old login: refused with the broker error page, audited, nobody logged in', async () => {
    const before = await successes();
    const flow = await begin(server.url, 'eid-only', { prompt: 'login', ui_locales: 'nb' });
    const page = await misbehave(flow, await chooseMethod(flow, flow.page, 'idporten'), 'stale-auth-time');
    expect(page.status).toBe(502);
    expect(page.html).toContain('ID-porten ba deg ikke logge inn på nytt');
    expect(page.html).toContain('Tjenesten krevde en ny innlogging');
    expect(page.html).toMatch(/href="\/interaction\/[^"]+"/);
    expect(await lastFailure()).toEqual({ reason: 'stale_authentication' });
    expect(await successes()).toBe(before);
    expect(flow.browser.cookieNames()).not.toContain('_session');
    expect(server.logs.filter((l) => l.includes('upstream login failed')).at(-1)).toContain('prompt=login ignored');
  });

  test('max_age: an upstream login older than allowed is refused; one within it is taken, with its auth_time', async () => {
    const refused = await begin(server.url, 'eid-only', { max_age: '600' });
    const page = await misbehave(refused, await chooseMethod(refused, refused.page, 'idporten'), 'stale-auth-time');
    expect(page.status).toBe(502);
    expect(page.html).toContain('ID-porten did not ask you to log in again');
    expect(await lastFailure()).toEqual({ reason: 'stale_authentication' });
    expect(server.logs.filter((l) => l.includes('upstream login failed')).at(-1)).toContain('older than max_age=600');

    const taken = await begin(server.url, 'eid-only', { max_age: '7200' });
    const { claims } = await redeem(taken, await misbehave(taken, await chooseMethod(taken, taken.page, 'idporten'), 'stale-auth-time'));
    // Our auth_time is ID-porten's (an hour before its id_token), not the moment our session began.
    expect(claims.iat - claims.auth_time!).toBeGreaterThanOrEqual(3600);
    expect(claims.iat - claims.auth_time!).toBeLessThan(3600 + 60);
    // And our RPs' max_age counts from it: the session is too old for 600 seconds, so we ask again.
    const later = await begin(server.url, 'eid-only', { max_age: '600' }, taken.browser);
    expect(later.page.html).toContain('/method/idporten');
    // but young enough for two hours: single sign-on, the same auth_time.
    const sso = await begin(server.url, 'eid-only', { max_age: '7200' }, taken.browser);
    expect((await redeem(sso, sso.page)).claims.auth_time).toBe(claims.auth_time);
  });

  test('no demand: an old upstream login is fine, and its auth_time is ours', async () => {
    const flow = await begin(server.url, 'eid-only', WITH_AUTH_TIME);
    const { claims } = await redeem(flow, await misbehave(flow, await chooseMethod(flow, flow.page, 'idporten'), 'stale-auth-time'));
    expect(claims.iat - claims.auth_time!).toBeGreaterThanOrEqual(3600);
  });
});

describe('freshness rules', () => {
  const sentAt = 1_800_000_000_000;
  const sent = sentAt / 1000;

  test.each([
    [{ prompt: 'login' }, { prompt: true }],
    [{ prompt: 'login consent' }, { prompt: true }],
    [{ prompt: 'consent' }, undefined],
    [{ max_age: 300 }, { prompt: false, maxAge: 300 }],
    [{ max_age: '0' }, { prompt: false, maxAge: 0 }],
    [{ max_age: 'soon' }, undefined],
    [{}, undefined],
  ])('%j demands %j', (params, demand) => {
    expect(freshnessDemand(params)).toEqual(demand);
  });

  test.each([
    ['no demand, no auth_time', undefined, undefined, sentAt, undefined],
    ['prompt=login, no auth_time', { prompt: true }, undefined, sentAt, 'the answer has no auth_time'],
    ['prompt=login, after sending', { prompt: true }, sent + 5, sentAt + 10_000, undefined],
    ['prompt=login, within the skew', { prompt: true }, sent - CLOCK_SKEW_SECONDS, sentAt, undefined],
    ['prompt=login, before the skew', { prompt: true }, sent - CLOCK_SKEW_SECONDS - 1, sentAt, 'auth_time is before the login was sent upstream (prompt=login ignored)'],
    ['max_age, within', { prompt: false, maxAge: 60 }, sent, sentAt + 60_000, undefined],
    ['max_age, too old', { prompt: false, maxAge: 60 }, sent, sentAt + (61 + CLOCK_SKEW_SECONDS) * 1000, 'auth_time is older than max_age=60'],
    ['max_age, a string auth_time', { prompt: false, maxAge: 60 }, String(sent), sentAt, 'the answer has no auth_time'],
  ])('%s', (_name, fresh, authTime, now, problem) => {
    expect(stalenessOf(fresh, authTime, sentAt, now)).toBe(problem);
  });
});
