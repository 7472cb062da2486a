/**
 * A rotated client secret keeps working for its grace period with every secret-based authentication
 * method (client_secret_basic, client_secret_post, client_secret_jwt), on both dialects: the operator
 * rotates through the admin API; during the grace period the old and the new secret work and a wrong one
 * is invalid_client; once the period is over (injected clock) only the new one works. A client_secret_jwt
 * assertion is replay-checked by jti as before: a replay under either secret is refused, a retry of a jti
 * whose assertion was refused for its signature is not. Below, without a server: which request counts as
 * proving which client's previous secret.
 */
import crypto from 'node:crypto';
import { SignJWT } from 'jose';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { ManualClock } from '../support/manual-clock.js';
import { cliClientsService } from '../../src/cli/clients.js';
import { proofFor } from '../../src/admin/secret-grace.js';
import { parseHmacAssertion } from '../../src/admin/hmac-assertion.js';
import type { KoaContextWithOIDC } from 'oidc-provider';

const GRACE_SECONDS = 300;
const API = '/admin/api/v1';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const METHODS = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt'] as const;
type Method = (typeof METHODS)[number];

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

describe.each(dialects)('a rotated client secret on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;
  // oidc-provider checks an assertion's exp on its own (wall) clock; the grace period runs on this one.
  const clock = new ManualClock(Date.now());
  const clients = {} as Record<Method, { id: string; old: string; current: string }>;

  /** A client_secret_jwt assertion (RFC 7523) for the token endpoint, HMAC'd with `secret`. */
  const assertion = (clientId: string, secret: string, jti: string) =>
    new SignJWT({ jti })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(server.config.issuer)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
      .sign(new TextEncoder().encode(secret));

  /** A client-credentials token request authenticated with `method` and `secret` (or a ready assertion). */
  async function tokenRequest(method: Method, clientId: string, secret: string, jwt?: { jti?: string; assertion?: string }): Promise<Response> {
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (method === 'client_secret_basic') headers.authorization = basic(clientId, secret);
    if (method === 'client_secret_post') {
      body.set('client_id', clientId);
      body.set('client_secret', secret);
    }
    if (method === 'client_secret_jwt') {
      body.set('client_assertion_type', JWT_BEARER);
      body.set('client_assertion', jwt?.assertion ?? (await assertion(clientId, secret, jwt?.jti ?? crypto.randomUUID())));
    }
    return fetch(`${server.url}/token`, { method: 'POST', headers, body });
  }

  async function expectRefused(res: Response): Promise<void> {
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_client');
  }

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    server = await startService({ db, clock, env: { CLIENT_SECRET_GRACE_SECONDS: String(GRACE_SECONDS) } });
    const cli = await cliClientsService(db, server.config);
    const admin = await cli.create({ client_name: 'Operations', grant_types: ['client_credentials'], scope: 'nordlys:admin' }, { kind: 'cli' }, 'ops-admin');
    const issued = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { authorization: basic('ops-admin', admin.client_secret!), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'nordlys:admin' }),
    });
    const { access_token: token } = (await issued.json()) as { access_token: string };
    const call = async (path: string, body?: unknown) => {
      const res = await fetch(`${server.url}${API}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      expect(res.status).toBeLessThan(300);
      return (await res.json()) as { client_id: string; client_secret: string };
    };
    for (const method of METHODS) {
      const created = await call('/clients', { client_name: `Machine (${method})`, grant_types: ['client_credentials'], token_endpoint_auth_method: method });
      expect((await tokenRequest(method, created.client_id, created.client_secret)).status).toBe(200);
      const rotated = await call(`/clients/${created.client_id}/rotate-secret`);
      clients[method] = { id: created.client_id, old: created.client_secret, current: rotated.client_secret };
    }
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  test.each(METHODS)('%s in the grace period: the old and the new secret work, a wrong one is invalid_client', async (method) => {
    const { id, old, current } = clients[method];
    expect((await tokenRequest(method, id, old)).status).toBe(200);
    expect((await tokenRequest(method, id, current)).status).toBe(200);
    await expectRefused(await tokenRequest(method, id, crypto.randomBytes(32).toString('base64url')));
    // The old secret of one client is nobody else's.
    const other = METHODS.find((m) => m !== method)!;
    await expectRefused(await tokenRequest(method, clients[other].id, old));
  });

  test('client_secret_post in the grace period works at the other client-authenticating endpoints too', async () => {
    const { id, old } = clients.client_secret_post;
    const { access_token: accessToken } = (await (await tokenRequest('client_secret_post', id, old)).json()) as { access_token: string };
    const introspected = await fetch(`${server.url}/token/introspection`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: accessToken, client_id: id, client_secret: old }),
    });
    expect(introspected.status).toBe(200);
    expect(((await introspected.json()) as { active: boolean }).active).toBe(true);
  });

  test('client_secret_jwt in the grace period: a replay is refused under either secret; a jti refused for its signature may be retried', async () => {
    const { id, old, current } = clients.client_secret_jwt;
    const signedWithOld = await assertion(id, old, 'jti-grace');
    expect((await tokenRequest('client_secret_jwt', id, old, { assertion: signedWithOld })).status).toBe(200);
    await expectRefused(await tokenRequest('client_secret_jwt', id, old, { assertion: signedWithOld }));
    await expectRefused(await tokenRequest('client_secret_jwt', id, current, { jti: 'jti-grace' }));

    await expectRefused(await tokenRequest('client_secret_jwt', id, 'w'.repeat(43), { jti: 'jti-retried' }));
    expect((await tokenRequest('client_secret_jwt', id, old, { jti: 'jti-retried' })).status).toBe(200);
  });

  describe('after the grace period', () => {
    beforeAll(() => clock.advance(GRACE_SECONDS * 1000));

    test.each(METHODS)('%s: the old secret is invalid_client, the new one works', async (method) => {
      const { id, old, current } = clients[method];
      await expectRefused(await tokenRequest(method, id, old));
      expect((await tokenRequest(method, id, current)).status).toBe(200);
      await expectRefused(await tokenRequest(method, id, crypto.randomBytes(32).toString('base64url')));
    });

    test('client_secret_jwt: an old-secret assertion\'s jti is still free for the new secret, once', async () => {
      const { id, old, current } = clients.client_secret_jwt;
      await expectRefused(await tokenRequest('client_secret_jwt', id, old, { jti: 'jti-after' }));
      const signedWithCurrent = await assertion(id, current, 'jti-after');
      expect((await tokenRequest('client_secret_jwt', id, current, { assertion: signedWithCurrent })).status).toBe(200);
      await expectRefused(await tokenRequest('client_secret_jwt', id, current, { assertion: signedWithCurrent }));
    });
  });
});

describe('which request proves which client\'s previous secret', () => {
  const request = (headers: Record<string, string>, params: Record<string, unknown> = {}) => ({ headers, oidc: { params } }) as unknown as KoaContextWithOIDC;
  const hs256 = (sub: string, secret: string) =>
    new SignJWT({ jti: 'j' }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuer(sub).sign(new TextEncoder().encode(secret));

  test('only a proof for the client being looked up counts, and only with the secret it names', async () => {
    expect(proofFor(undefined, 'rp')).toBeUndefined();
    expect(proofFor({ headers: {} } as unknown as KoaContextWithOIDC, 'rp')).toBeUndefined(); // not inside a provider route
    const byBasic = proofFor(request({ authorization: basic('rp', 'old secret') }), 'rp')!;
    expect([byBasic('old secret'), byBasic('other')]).toEqual([true, false]);
    expect(proofFor(request({ authorization: basic('someone-else', 'old secret') }), 'rp')).toBeUndefined();
    const byPost = proofFor(request({}, { client_id: 'rp', client_secret: 'old' }), 'rp')!;
    expect([byPost('old'), byPost('olde')]).toEqual([true, false]);
    expect(proofFor(request({}, { client_id: 'someone-else', client_secret: 'old' }), 'rp')).toBeUndefined();
    const jwt = await hs256('rp', 'old');
    const byJwt = proofFor(request({}, { client_assertion_type: JWT_BEARER, client_assertion: jwt }), 'rp')!;
    expect([byJwt('old'), byJwt('new')]).toEqual([true, false]);
    expect(proofFor(request({}, { client_assertion_type: JWT_BEARER, client_assertion: await hs256('someone-else', 'old') }), 'rp')).toBeUndefined();
    expect(proofFor(request({}, { client_id: 'rp' }), 'rp')).toBeUndefined();
  });

  test('an assertion is ours to check only when HMAC-signed and naming its subject', () => {
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const jwt = (header: object, payload: object) => `${part(header)}.${part(payload)}.c2ln`;
    expect(parseHmacAssertion(jwt({ alg: 'HS512' }, { sub: 'rp' }))).toMatchObject({ alg: 'HS512', sub: 'rp' });
    for (const alg of ['RS256', 'none', 'constructor', '__proto__']) expect(parseHmacAssertion(jwt({ alg }, { sub: 'rp' }))).toBeUndefined();
    expect(parseHmacAssertion(jwt({ alg: 'HS256' }, { iss: 'rp' }))).toBeUndefined();
    expect(parseHmacAssertion('not.a.jwt!')).toBeUndefined();
    expect(parseHmacAssertion(`${part({ alg: 'HS256' })}.${part({ sub: 'rp' })}`)).toBeUndefined();
  });
});
