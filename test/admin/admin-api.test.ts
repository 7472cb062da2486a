/**
 * The admin API as an operator drives it, with two instances on one database (both dialects): the CLI
 * registers an admin client, the operator gets a token by client credentials, creates a relying party on
 * instance A and uses it at once on instance B, rotates its secret (the old one works in the grace period
 * and fails after it, on the injected clock), and every call leaves an audit row with the admin client's id.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, RP, CONFIDENTIAL_SECRET, type RunningService } from '../support/service.js';
import { ManualClock } from '../support/manual-clock.js';
import type { Database } from '../../src/store/db.js';
import { cliClientsService } from '../../src/cli/clients.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { createAccountRepository } from '../../src/store/accounts.js';
import { TEST_USER, discover, codeFlow } from '../support/rp.js';
import * as oidc from 'openid-client';

const GRACE_SECONDS = 600;
const API = '/admin/api/v1';
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

async function clientCredentials(base: string, id: string, secret: string, scope?: string): Promise<Response> {
  return fetch(`${base}/token`, {
    method: 'POST',
    headers: { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) }),
  });
}

describe.each(dialects)('admin API on two instances over one %s database', (dialect) => {
  let db: TestDatabase;
  let twin: Database;
  let a: RunningService;
  let b: RunningService;
  const clock = new ManualClock(Date.now());
  let adminSecret: string;
  let token: string;
  // A relying party's back-channel logout endpoint, on loopback (allowed below, as an operator would).
  const logoutTokens: string[] = [];
  let logoutReceived: (() => void) | undefined;
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      logoutTokens.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.writeHead(204).end();
      logoutReceived?.();
    });
  });

  const call = (base: string, method: string, path: string, body?: unknown, bearer = token) =>
    fetch(`${base}${API}${path}`, {
      method,
      headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    twin = db.openTwin();
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const env = { CLIENT_SECRET_GRACE_SECONDS: String(GRACE_SECONDS), ALLOW_PRIVATE_OUTBOUND_HOSTS: '127.0.0.1' };
    a = await startService({ db, clock, env });
    b = await startService({ db: twin, clock, env, issuerPort: Number(new URL(a.url).port), clientsFile: a.config.clientsFile });
    // The operator registers the admin client offline, with the CLI's service functions.
    const cli = await cliClientsService(db, a.config);
    const created = await cli.create({ client_name: 'Operations', grant_types: ['client_credentials'], scope: 'nordlys:admin' }, { kind: 'cli' }, 'ops-admin');
    adminSecret = created.client_secret!;
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await twin.close();
    await db.close();
    await new Promise((resolve) => receiver.close(resolve));
  });

  test('a token by client credentials with nordlys:admin opens the API; none, or one without the scope, does not', async () => {
    const noToken = await call(a.url, 'GET', '/clients', undefined, '');
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get('www-authenticate')).toMatch(/^Bearer realm="nordlys-admin"/);
    expect(noToken.headers.get('content-type')).toContain('application/problem+json');

    // A client registered without the scope cannot get it, and its ordinary token is refused.
    expect((await clientCredentials(a.url, 'machine', CONFIDENTIAL_SECRET, 'nordlys:admin')).status).toBe(400);
    const machine = (await (await clientCredentials(a.url, 'machine', CONFIDENTIAL_SECRET, 'openid')).json()) as { access_token: string };
    const wrongScope = await call(a.url, 'GET', '/clients', undefined, machine.access_token);
    expect(wrongScope.status).toBe(403);
    expect(wrongScope.headers.get('www-authenticate')).toContain('error="insufficient_scope"');

    const issued = await clientCredentials(a.url, 'ops-admin', adminSecret, 'nordlys:admin');
    expect(issued.status).toBe(200);
    token = ((await issued.json()) as { access_token: string }).access_token;
    const listed = await call(b.url, 'GET', '/clients');
    expect(listed.status).toBe(200);
    const ids = ((await listed.json()) as { clients: Array<{ client_id: string }> }).clients.map((c) => c.client_id);
    expect(ids).toEqual(expect.arrayContaining(['ops-admin', 'conf', 'machine']));

    const doc = (await (await fetch(`${a.url}${API}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/clients', '/clients/{id}', '/clients/{id}/rotate-secret']));
  });

  test('bad input is a problem naming the field; the server assigns the id and secret', async () => {
    const bad = await call(a.url, 'POST', '/clients', { client_name: 'Bad', redirect_uris: ['nonsense'] });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect(((await bad.json()) as { errors: Array<{ field: string }> }).errors.map((e) => e.field)).toContain('redirect_uris[0]');
    const chosen = await call(a.url, 'POST', '/clients', { client_id: 'mine', client_name: 'X', redirect_uris: [RP] });
    expect(((await chosen.json()) as { errors: Array<{ field: string }> }).errors[0]!.field).toBe('client_id');
    const unknown = await call(a.url, 'POST', '/clients', { client_name: 'X', redirect_uris: [RP], colour: 'blue' });
    expect(unknown.status).toBe(400);
    const malformed = await fetch(`${a.url}${API}/clients`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{ nope' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { errors: Array<{ field: string }> }).errors[0]!.field).toBe('body');
    expect((await call(a.url, 'GET', '/clients/nobody')).status).toBe(404);
  });

  test('a client created on A works on B at once; its secret rotates with a grace period; deleted, it stops', async () => {
    const created = await call(a.url, 'POST', '/clients', {
      client_name: 'Case portal',
      redirect_uris: [RP],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      scope: 'openid email',
    });
    const createdAt = performance.now();
    expect(created.status).toBe(201);
    const client = (await created.json()) as { client_id: string; client_secret: string; client_secret_expires_at: number };
    expect(client.client_secret).toMatch(/^[\w-]{43}$/);
    expect(client.client_secret_expires_at).toBe(0);
    expect(created.headers.get('location')).toBe(`${API}/clients/${client.client_id}`);

    // Used at once on the other instance: the very first request there succeeds.
    const first = await clientCredentials(b.url, client.client_id, client.client_secret);
    const visibleAfterMs = performance.now() - createdAt;
    expect(first.status).toBe(200);
    process.stdout.write(`[${dialect}] a client created on A authenticated on B ${visibleAfterMs.toFixed(1)} ms after the 201 (first attempt)\n`);
    const auth = await fetch(`${b.url}/auth?${new URLSearchParams({ client_id: client.client_id, redirect_uri: RP, response_type: 'code', scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256', state: 's' })}`, { redirect: 'manual' });
    expect(auth.status).toBe(303);
    expect(auth.headers.get('location')).toMatch(/^\/interaction\//);

    // The secret is sealed at rest, and never shown again.
    const row = (await db.knex('clients').where({ client_id: client.client_id }).first()) as { secret: string; metadata: string };
    expect(row.secret.startsWith('v1.')).toBe(true);
    expect(row.secret + row.metadata).not.toContain(client.client_secret);
    expect(JSON.stringify(await (await call(b.url, 'GET', `/clients/${client.client_id}`)).json())).not.toContain(client.client_secret);

    // An update on B is what A serves next.
    const updated = await call(b.url, 'PUT', `/clients/${client.client_id}`, { client_name: 'Case portal 2', redirect_uris: [RP], grant_types: ['authorization_code', 'client_credentials'], scope: 'openid' });
    expect(updated.status).toBe(200);
    expect((await clientCredentials(a.url, client.client_id, client.client_secret, 'email')).status).toBe(400); // email no longer allowed

    const rotated = await call(b.url, 'POST', `/clients/${client.client_id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    const next = (await rotated.json()) as { client_secret: string; previous_secret_expires_at: number };
    expect(next.previous_secret_expires_at).toBe(Math.floor(clock.now() / 1000) + GRACE_SECONDS);
    expect((await clientCredentials(a.url, client.client_id, next.client_secret)).status).toBe(200);
    expect((await clientCredentials(a.url, client.client_id, client.client_secret)).status).toBe(200); // grace period
    expect((await clientCredentials(b.url, client.client_id, client.client_secret)).status).toBe(200);
    clock.advance(GRACE_SECONDS * 1000 - 1000);
    expect((await clientCredentials(b.url, client.client_id, client.client_secret)).status).toBe(200);
    clock.advance(1000);
    expect((await clientCredentials(a.url, client.client_id, client.client_secret)).status).toBe(401);
    expect((await clientCredentials(b.url, client.client_id, client.client_secret)).status).toBe(401);
    expect((await clientCredentials(b.url, client.client_id, next.client_secret)).status).toBe(200);

    expect((await call(a.url, 'DELETE', `/clients/${client.client_id}`)).status).toBe(204);
    expect((await clientCredentials(b.url, client.client_id, next.client_secret)).status).toBe(401);

    // Every call is in the audit trail with the admin client's id (and the CLI's as `cli`).
    const events = (await db.knex('audit_events').where({ client_id: 'ops-admin' }).orderBy('id').select('event', 'detail')) as Array<{ event: string; detail: string }>;
    const about = (target: string) => events.filter((e) => e.detail.includes(target)).map((e) => e.event);
    expect(about(client.client_id)).toEqual(['admin.client.created', 'admin.client.read', 'admin.client.updated', 'admin.client.secret_rotated', 'admin.client.deleted']);
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['admin.client.listed', 'admin.api.refused']));
    // The CLI's own action: the `cli` actor, about the client it made.
    const cliRows = await db.knex('audit_events').where({ actor: 'cli', client_id: 'ops-admin', event: 'admin.client.created' });
    expect(cliRows).toHaveLength(1);
  });
  test('signing keys: list, rotate and revoke through the API, never key material, audited', async () => {
    const listed = await call(b.url, 'GET', '/keys');
    expect(listed.status).toBe(200);
    const keys = ((await listed.json()) as { keys: Array<Record<string, unknown>> }).keys;
    expect(keys.map((k) => k.state)).toEqual(['signing', 'signing']);
    expect(JSON.stringify(keys)).not.toMatch(/"d"|private/);
    const rotated = (await (await call(b.url, 'POST', '/keys/rotate')).json()) as { created: Array<{ kid: string }> };
    expect(rotated.created).toHaveLength(2);
    const revoked = await call(a.url, 'POST', `/keys/${rotated.created[0]!.kid}/revoke`);
    expect(revoked.status).toBe(200);
    expect((await call(a.url, 'POST', '/keys/nope/revoke')).status).toBe(404);
    const events = (await db.knex('audit_events').where({ client_id: 'ops-admin' }).whereLike('event', 'admin.keys.%').orderBy('id').pluck('event')) as string[];
    expect(events).toEqual(['admin.keys.listed', 'admin.keys.rotated', 'admin.keys.revoked']);
  });
  test('accounts: found by e-mail, disabled (no login, sessions ended), enabled, deleted to a tombstone, audited', async () => {
    const account = await createLocalAccount(db, clock, TEST_USER);
    const repo = createAccountRepository(db, clock);
    await db.knex('oidc_payloads').insert({ model: 'Session', id: 'sess-1', payload: JSON.stringify({ accountId: account.id }), account_id: account.id, expires_at: null, consumed_at: null });
    // A real login session too: after the account is disabled, single sign-on must be over.
    const rp = await discover(a.url, 'pub', oidc.None());
    const { browser } = await codeFlow(rp, a.url);
    const silent = () =>
      browser.go(`${a.url}/auth?${new URLSearchParams({ client_id: 'pub', response_type: 'code', redirect_uri: RP, scope: 'openid', prompt: 'none', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })}`);
    expect(new URL((await silent()).url).searchParams.get('code')).toBeTruthy();
    const bad = await call(a.url, 'POST', '/accounts/search', { email: TEST_USER.email, sub: account.id });
    expect(bad.status).toBe(400);
    const found = (await (await call(a.url, 'POST', '/accounts/search', { email: TEST_USER.email.toUpperCase() })).json()) as { accounts: Array<{ sub: string; status: string }> };
    expect(found.accounts).toEqual([expect.objectContaining({ sub: account.id, status: 'active' })]);
    const disabled = await call(b.url, 'POST', `/accounts/${account.id}/disable`);
    expect(((await disabled.json()) as { status: string }).status).toBe('disabled');
    expect(await repo.findLocalCredentials(TEST_USER.email)).toBeUndefined();
    expect(await db.knex('oidc_payloads').where({ id: 'sess-1' })).toHaveLength(0);
    expect(new URL((await silent()).url).searchParams.get('error')).toBe('login_required');
    expect(((await (await call(a.url, 'POST', `/accounts/${account.id}/enable`)).json()) as { status: string }).status).toBe('active');
    expect(await repo.findLocalCredentials(TEST_USER.email)).toBeDefined();
    expect((await call(a.url, 'POST', `/accounts/${account.id}/clear-throttling`)).status).toBe(200);
    expect((await call(a.url, 'POST', `/accounts/${account.id}/revoke-sessions`)).status).toBe(200);
    expect((await call(a.url, 'DELETE', `/accounts/${account.id}`)).status).toBe(204);
    expect(await repo.findById(account.id)).toMatchObject({ status: 'deleted', email: null, name: null });
    expect((await call(a.url, 'POST', `/accounts/${account.id}/enable`)).status).toBe(409);
    expect((await call(a.url, 'GET', '/accounts/nobody')).status).toBe(404);
    const events = (await db.knex('audit_events').where({ client_id: 'ops-admin', account_id: account.id }).orderBy('id').pluck('event')) as string[];
    expect(events).toEqual(['admin.account.searched', 'admin.account.disabled', 'admin.account.enabled', 'admin.account.throttling_cleared', 'admin.account.sessions_revoked', 'admin.account.deleted']);
    // The e-mail address is in no audit row.
    expect(JSON.stringify(await db.knex('audit_events').select('detail'))).not.toContain(TEST_USER.email);
  });

  test('revoking an account\'s sessions sends their relying parties a back-channel logout', async () => {
    const created = await call(a.url, 'POST', '/clients', {
      client_name: 'Portal with back-channel logout',
      redirect_uris: [RP],
      grant_types: ['authorization_code'],
      scope: 'openid',
      skip_consent: true,
      backchannel_logout_uri: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/backchannel`,
    });
    expect(created.status).toBe(201);
    const portal = (await created.json()) as { client_id: string; client_secret: string };
    const account = await createLocalAccount(db, clock, TEST_USER);
    const rp = await discover(a.url, portal.client_id, oidc.ClientSecretBasic(portal.client_secret));
    const { tokens } = await codeFlow(rp, a.url);
    const shown = (await (await call(b.url, 'GET', `/accounts/${account.id}`)).json()) as { identities: unknown[]; active_sessions: Array<{ clients: string[] }>; last_login_at: number | null };
    expect(shown.identities).toEqual([{ kind: 'local', email: TEST_USER.email }]);
    expect(shown.active_sessions).toEqual([expect.objectContaining({ clients: [portal.client_id] })]);
    expect(shown.last_login_at).not.toBeNull();
    const received = new Promise<void>((resolve) => (logoutReceived = resolve));
    const revoked = await call(b.url, 'POST', `/accounts/${account.id}/revoke-sessions`);
    expect(revoked.status).toBe(200);
    await received;
    const payload = JSON.parse(Buffer.from(logoutTokens.at(-1)!.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(payload).toMatchObject({ sub: tokens.claims()!.sub, aud: portal.client_id, events: { 'http://schemas.openid.net/event/backchannel-logout': {} } });
    expect(((await (await call(a.url, 'GET', `/accounts/${account.id}`)).json()) as { active_sessions: unknown[] }).active_sessions).toEqual([]);
  });

  test('the audit trail of all of the above, through the API: filtered, paginated and exported as NDJSON', async () => {
    const pages: Array<{ event: string; id: number; clientId?: string }> = [];
    let cursor: string | undefined;
    for (let round = 0; round < 50; round += 1) {
      const res = await call(b.url, 'GET', `/audit?client=ops-admin&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { events: Array<{ event: string; id: number; clientId?: string }>; next_cursor?: string };
      pages.push(...page.events);
      cursor = page.next_cursor;
      if (!cursor) break;
    }
    expect(cursor).toBeUndefined();
    const ids = pages.map((e) => e.id);
    expect([...ids].sort((x, y) => y - x)).toEqual(ids); // newest first, no repeats
    expect(new Set(ids).size).toBe(ids.length);
    expect(pages.every((e) => e.clientId === 'ops-admin')).toBe(true);
    const seen = new Set(pages.map((e) => e.event));
    for (const event of ['admin.client.created', 'admin.client.secret_rotated', 'admin.client.deleted', 'admin.keys.rotated', 'admin.keys.revoked', 'admin.account.disabled', 'admin.account.deleted']) {
      expect(seen).toContain(event);
    }

    const exported = await call(a.url, 'GET', '/audit/export?client=ops-admin');
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await exported.text()).trim().split('\n').map((l) => JSON.parse(l) as { id: number; event: string; time: string });
    // The export is oldest first and holds every event the pages held (the query itself was audited since).
    expect(lines.map((l) => l.id).slice(0, ids.length)).toEqual([...ids].reverse());
    expect(lines.every((l) => typeof l.time === 'string' && !Number.isNaN(Date.parse(l.time)))).toBe(true);

    const bad = await call(a.url, 'GET', '/audit?since=yesterday&outcome=maybe');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await bad.json()) as { errors: Array<{ field: string }> };
    expect(problem.errors.map((e) => e.field).sort()).toEqual(['outcome', 'since']);
    const badCursor = (await (await call(a.url, 'GET', '/audit?cursor=nonsense')).json()) as { errors: Array<{ field: string }> };
    expect(badCursor.errors[0]!.field).toBe('cursor');
    const forbidden = await fetch(`${a.url}${API}/audit`);
    expect(forbidden.status).toBe(401);
  });
});

describe.each(dialects)('admin API rate limit on %s', (dialect) => {
  let db: TestDatabase;
  let a: RunningService;
  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    a = await startService({ db, env: { ADMIN_API_REQUESTS_PER_MINUTE: '2' } });
  });
  afterAll(async () => {
    await a.close();
    await db.close();
  });

  test('an admin client over its budget gets 429 with Retry-After', async () => {
    const cli = await cliClientsService(db, a.config);
    const { client_secret } = await cli.create({ client_name: 'Ops', grant_types: ['client_credentials'], scope: 'nordlys:admin' }, { kind: 'cli' }, 'ops');
    const { access_token } = (await (await clientCredentials(a.url, 'ops', client_secret!, 'nordlys:admin')).json()) as { access_token: string };
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 3; i += 1) {
      last = await fetch(`${a.url}${API}/clients`, { headers: { authorization: `Bearer ${access_token}` } });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
