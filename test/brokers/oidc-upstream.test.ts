/**
 * The generic OpenID upstream broker, proved by configuration alone: the built-in ID-porten mock is also
 * configured as two plain OIDC upstreams (OIDC_UPSTREAMS: `test-oidc` with a client secret, `test-oidc-jwt`
 * with private_key_jwt), beside ID-porten itself, on each dialect. A client that offers them logs in end to
 * end; the same synthetic person gets a separate account (a different `sub`) from each method, never merged.
 */
import { exportJWK, generateKeyPair } from 'jose';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { CONFIDENTIAL_SECRET, freePort, RP, startService, writeClientsFile, type RunningService } from '../support/service.js';
import { atMock, begin, chooseMethod, eidClients, KARI, redeem, rpError } from './eid-support.js';

const SECRET = 'test-oidc-client-secret-0123456789abcdef';
const ACR = { 'idporten-loa-substantial': 'substantial', 'idporten-loa-high': 'high' };

const oidcClient = (client_id: string, extra: Record<string, unknown>) => ({
  client_id,
  client_secret: CONFIDENTIAL_SECRET,
  redirect_uris: [RP],
  scope: 'openid profile pid',
  skip_consent: true,
  ...extra,
});

describe.each(dialects)('configured OpenID upstreams on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: 'test-oidc-jwt-1', alg: 'ES256' };
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const upstreams = [
      {
        id: 'test-oidc',
        issuer: `${issuer}/mock/idporten`,
        client_id: 'test-oidc',
        client_secret: SECRET,
        scopes: ['openid', 'profile'],
        acr: ACR,
        claims: { name: 'name' },
        display_name: { en: 'Test OpenID', nb: 'Test-OpenID' },
      },
      {
        id: 'test-oidc-jwt',
        issuer: `${issuer}/mock/idporten`,
        client_id: 'test-oidc-jwt',
        auth_method: 'private_key_jwt',
        private_key: jwk,
        acr: ACR,
        display_name: 'Test OpenID (signed)',
        hint: 'Signed client assertion',
      },
    ];
    const clientsFile = writeClientsFile([
      ...eidClients,
      oidcClient('oidc-demo', { login_methods: ['local', 'idporten', 'test-oidc', 'test-oidc-jwt'], release_national_id: true }),
      oidcClient('oidc-high', { login_methods: ['test-oidc'], method_min_acr: { 'test-oidc': 'high' } }),
    ]);
    server = await startService({ db, clientsFile, env: { PORT: String(port), ISSUER: issuer, MOCKS_ENABLED: 'true', OIDC_UPSTREAMS: JSON.stringify(upstreams) } });
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  test('the login page names each upstream as configured, in the person’s language', async () => {
    const en = await begin(server.url, 'oidc-demo');
    expect(en.page.html).toContain('>Test OpenID</button>');
    expect(en.page.html).toContain('Log in with your electronic ID or account there');
    expect(en.page.html).toContain('>Test OpenID (signed)</button>');
    expect(en.page.html).toContain('Signed client assertion');
    const nb = await begin(server.url, 'oidc-demo', { ui_locales: 'nb' });
    expect(nb.page.html).toContain('>Test-OpenID</button>');
    // A client that does not offer it never sees it.
    const udi = await begin(server.url, 'udi');
    expect(udi.page.html).not.toContain('/method/test-oidc');
  });

  test('one person, three methods, three accounts: ID-porten, test-oidc and test-oidc-jwt are never merged', async () => {
    const viaIdporten = await begin(server.url, 'oidc-demo');
    const a = await redeem(viaIdporten, await atMock(viaIdporten, await chooseMethod(viaIdporten, viaIdporten.page, 'idporten'), { person: KARI, eid: 'bankid' }));
    const viaOidc = await begin(server.url, 'oidc-demo');
    const atUpstream = await chooseMethod(viaOidc, viaOidc.page, 'test-oidc');
    expect(atUpstream.url).toContain('/mock/idporten/interaction/');
    const b = await redeem(viaOidc, await atMock(viaOidc, atUpstream, { person: KARI, eid: 'bankid' }));
    const viaJwt = await begin(server.url, 'oidc-demo');
    const c = await redeem(viaJwt, await atMock(viaJwt, await chooseMethod(viaJwt, viaJwt.page, 'test-oidc-jwt'), { person: KARI, eid: 'minid' }));

    expect(new Set([a.claims.sub, b.claims.sub, c.claims.sub]).size).toBe(3);
    expect([a.claims.acr, b.claims.acr, c.claims.acr]).toEqual(['high', 'high', 'substantial']);
    expect(b.claims.amr).toEqual(['BankID']);
    // Only the configured claims are released; the subject is no national identity number here.
    expect(b.userinfo.name).toBe('Kari Nordmann');
    expect(b.userinfo.pid).toBeUndefined();
    expect(a.userinfo.pid).toBe(KARI);
    // The OIDC accounts are keyed by (method id, the upstream's sub), which is not the pid.
    const rows = await db.knex('federated_identities').whereIn('account_id', [a.claims.sub, b.claims.sub, c.claims.sub]);
    const byBroker = Object.fromEntries(rows.map((r: { broker: string; subject: string; account_id: string }) => [r.broker, r]));
    expect(Object.keys(byBroker).sort()).toEqual(['idporten', 'test-oidc', 'test-oidc-jwt']);
    expect(byBroker.idporten?.subject).toBe(KARI);
    expect(byBroker['test-oidc']?.subject).not.toBe(KARI);
    expect(byBroker['test-oidc']?.account_id).toBe(b.claims.sub);
    const kinds = await db.knex('accounts').whereIn('id', [b.claims.sub, c.claims.sub]).pluck('kind');
    expect(kinds.sort()).toEqual(['test-oidc', 'test-oidc-jwt']);
    // The same person again through test-oidc finds the same account.
    const again = await begin(server.url, 'oidc-demo');
    const d = await redeem(again, await atMock(again, await chooseMethod(again, again.page, 'test-oidc'), { person: KARI, eid: 'bankid' }));
    expect(d.claims.sub).toBe(b.claims.sub);
    const audited = await db.knex('audit_events').where({ event: 'login.test-oidc', outcome: 'success' }).count({ n: '*' });
    expect(Number(audited[0]!.n)).toBe(2);
  });

  test('the floor goes upstream and the acr is still checked: a lower answer gets the level page', async () => {
    const flow = await begin(server.url, 'oidc-high');
    const atUpstream = await chooseMethod(flow, flow.page, 'test-oidc');
    // Only idporten-loa-high meets the floor, so the upstream offers no MinID.
    expect(atUpstream.html).not.toMatch(/value="minid"/);
    const page = await atMock(flow, atUpstream, { action: 'misbehave' });
    expect(page.status).toBe(200);
    expect(page.html).toContain('higher security level than your login with Test OpenID reached');
    const failure = await db.knex('audit_events').where({ event: 'login.test-oidc', outcome: 'failure' }).orderBy('id', 'desc').first();
    expect(JSON.parse(failure.detail)).toMatchObject({ reason: 'insufficient_level' });
    expect(rpError(await flow.browser.submit(page, /\/abort$/, {}))).toMatchObject({ error: 'access_denied', state: flow.state });
  });

  test('an upstream error names the configured upstream and who handles it', async () => {
    const flow = await begin(server.url, 'oidc-demo', { ui_locales: 'nb' });
    const page = await atMock(flow, await chooseMethod(flow, flow.page, 'test-oidc'), { action: 'error' });
    expect(page.status).toBe(502);
    expect(page.html).toContain('Test-OpenID');
    expect(page.html).toContain('Problemer med Test-OpenID håndteres av leverandøren');
  });
});
