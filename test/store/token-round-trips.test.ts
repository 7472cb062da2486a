/**
 * SQL statements per userinfo and per introspection, counted with knex's query event (never timed).
 * oidc-provider looks an introspected token up as AccessToken, ClientCredentials and RefreshToken at
 * once, then loads its Session (when the token is bound to one) and its Grant; userinfo loads the access
 * token, its Session, the client, the account and the Grant. The adapter answers the concurrent lookups
 * of one id with one statement that reads the token's Grant and Session with it, for this request only
 * (src/store/payload-reads.ts): one oidc_payloads statement per request, where there were three to five.
 * Statements on other tables (the client, the account) belong to their own stores and are bounded here.
 * And nothing is kept between requests: a token, grant or session deleted by another instance is dead
 * for the next request.
 */
import * as oidc from 'openid-client';
import { createLocalAccount } from '../../src/cli/commands.js';
import { systemClock } from '../../src/clock.js';
import { createTestDatabase, dialects, type TestDatabase } from '../support/databases.js';
import { codeFlow, discover, TEST_USER } from '../support/rp.js';
import { CONFIDENTIAL_SECRET, startService, type RunningService } from '../support/service.js';

interface TokenSet {
  access_token: string;
  refresh_token?: string;
}

interface Counted {
  status: number;
  body: Record<string, unknown>;
  /** Every statement the request made. */
  total: number;
  /** Those on oidc_payloads. */
  payloads: number;
}

describe.each(dialects)('token round trips on %s', (dialect) => {
  let db: TestDatabase;
  let svc: RunningService;
  let rp: oidc.Configuration;
  /** With offline_access: not bound to the session. */
  let offline: TokenSet;
  /** Without: the access token ends with the session, so the provider looks the session up too. */
  let bound: TokenSet;
  let machineToken: string;
  const seen: string[] = [];
  let counting = false;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    db.knex.on('query', (q: { sql: string }) => {
      if (counting) seen.push(q.sql);
    });
    svc = await startService({ db });
    await createLocalAccount(db, systemClock, TEST_USER);
    rp = await discover(svc.url, 'conf', oidc.ClientSecretPost(CONFIDENTIAL_SECRET));
    ({ tokens: offline } = await codeFlow(rp, svc.url, { scope: 'openid email offline_access', prompt: 'consent' }));
    ({ tokens: bound } = await codeFlow(rp, svc.url, { scope: 'openid email' }));
    const cc = await fetch(`${svc.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'machine', client_secret: CONFIDENTIAL_SECRET, scope: 'openid' }),
    });
    machineToken = ((await cc.json()) as { access_token: string }).access_token;
  });
  afterAll(async () => {
    await svc.close();
    await db.close();
  });

  /** Runs one request with the counter on; the audit trail writes after the answer, so it is awaited out. */
  async function count(request: () => Promise<Response>): Promise<Counted> {
    seen.length = 0;
    counting = true;
    try {
      const res = await request();
      const body = (await res.json()) as Record<string, unknown>;
      await svc.service.audit.settled();
      return { status: res.status, body, total: seen.length, payloads: seen.filter((s) => s.includes('oidc_payloads')).length };
    } finally {
      counting = false;
    }
  }

  const userinfo = (accessToken: string) => () => fetch(`${svc.url}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  const introspect = (token: string, client = 'conf') => () =>
    fetch(`${svc.url}/token/introspection`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ token, client_id: client, client_secret: CONFIDENTIAL_SECRET }),
    });

  // Before: 4 statements (2 on oidc_payloads) offline, 5 (3) session-bound.
  it.each([
    ['an offline', () => offline],
    ['a session-bound', () => bound],
  ])('userinfo with %s token reads oidc_payloads once', async (_kind, tokens) => {
    const counted = await count(userinfo(tokens().access_token));
    expect(counted).toMatchObject({ status: 200, body: expect.objectContaining({ sub: expect.any(String), email: TEST_USER.email }), payloads: 1 });
    // The client and the account: one statement each at most.
    expect(counted.total).toBeLessThanOrEqual(3);
  });

  // Before: 5 statements (4 on oidc_payloads) for an access or refresh token, 4 (3) for a client-credentials
  // token or an unknown one, 6 (5) for a session-bound access token.
  it.each([
    ['an offline access token', () => offline.access_token, 'conf', true],
    ['a session-bound access token', () => bound.access_token, 'conf', true],
    ['a refresh token', () => offline.refresh_token!, 'conf', true],
    ['a client-credentials token', () => machineToken, 'machine', true],
    ['an unknown token', () => 'no-such-token-0123456789abcdefghijklmnopqrstu', 'conf', false],
  ])('introspection of %s reads oidc_payloads once', async (_kind, token, client, active) => {
    const counted = await count(introspect(token(), client));
    expect(counted).toMatchObject({ status: 200, body: expect.objectContaining({ active }), payloads: 1 });
    // The authenticating client: one statement at most.
    expect(counted.total).toBeLessThanOrEqual(2);
  });

  it('keeps nothing between requests: rows deleted behind its back (another instance) are dead at once', async () => {
    const { tokens } = await codeFlow(rp, svc.url, { scope: 'openid email offline_access', prompt: 'consent' });
    const grantId = ((await db.knex('oidc_payloads').where({ model: 'AccessToken', id: tokens.access_token }).first('grant_id')) as { grant_id: string }).grant_id;
    expect((await count(introspect(tokens.access_token))).body.active).toBe(true);
    expect((await count(userinfo(tokens.access_token))).status).toBe(200);

    await db.knex('oidc_payloads').where({ model: 'Grant', id: grantId }).del();
    expect((await count(introspect(tokens.access_token))).body.active).toBe(false);
    expect((await count(introspect(tokens.refresh_token!))).body.active).toBe(false);
    expect((await count(userinfo(tokens.access_token))).status).toBe(401);

    const { tokens: other } = await codeFlow(rp, svc.url, { scope: 'openid email' });
    expect((await count(userinfo(other.access_token))).status).toBe(200);
    await db.knex('oidc_payloads').where({ model: 'AccessToken', id: other.access_token }).del();
    expect((await count(introspect(other.access_token))).body.active).toBe(false);
    expect((await count(userinfo(other.access_token))).status).toBe(401);
  });

  it('a session-bound token dies with its session, even though the session is read with the token', async () => {
    const { tokens } = await codeFlow(rp, svc.url, { scope: 'openid email' });
    expect((await count(userinfo(tokens.access_token))).status).toBe(200);
    const accountId = ((await db.knex('oidc_payloads').where({ model: 'AccessToken', id: tokens.access_token }).first('account_id')) as { account_id: string }).account_id;
    await db.knex('oidc_payloads').where({ model: 'Session', account_id: accountId }).del();
    expect((await count(userinfo(tokens.access_token))).status).toBe(401);
    expect((await count(introspect(tokens.access_token))).body.active).toBe(false);
  });
});
