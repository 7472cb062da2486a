/**
 * The per-request memo over the storage adapter, on each dialect: inside one request a row is read once
 * and a save is seen without reading it back; outside a request, or in the next one, the database is read
 * again; consume, destroy and revokeByGrantId forget; and a code found (and remembered) by two requests
 * is still redeemed exactly once, because consume's row count decides, not the remembered find. The
 * provider's account reads go through the same memo: once per request, forgotten by a write.
 */
import { ManualClock } from '../support/manual-clock.js';
import { createAdapterClass, type OidcAdapterClass } from '../../src/store/oidc-adapter.js';
import { createRequestMemo, withRequestMemo } from '../../src/store/request-memo.js';
import { withAccountMemo } from '../../src/store/account-memo.js';
import { LAST_LOGIN_RESOLUTION_MS, createAccountRepository } from '../../src/store/accounts.js';
import { createFederatedAccountRepository } from '../../src/store/federated-accounts.js';
import { createTestDatabase, dialects, type TestDatabase } from '../support/databases.js';

const HOUR = 3600;

describe.each(dialects)('request memo on %s', (dialect) => {
  let db: TestDatabase;
  let statements: string[] = [];
  let current: object | undefined;
  let Adapter: OidcAdapterClass;
  const clock = new ManualClock();
  const inRequest = async <T>(request: object, work: () => Promise<T>): Promise<T> => {
    current = request;
    try {
      return await work();
    } finally {
      current = undefined;
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    db.knex.on('query', (q: { sql: string }) => statements.push(q.sql));
    Adapter = withRequestMemo(createAdapterClass(db, clock), createRequestMemo(() => current));
  });
  afterAll(async () => {
    await db.close();
  });
  beforeEach(async () => {
    await db.knex('oidc_payloads').del();
    statements = [];
  });
  const reads = () => statements.filter((s) => /^select/i.test(s)).length;

  test('one read per request; each hit is a copy; the next request and no request read again', async () => {
    const sessions = new Adapter('Session');
    await sessions.upsert('s1', { uid: 'u1', accountId: 'a1', authorizations: { c: { sid: 'x' } } }, HOUR);
    const first = {};
    await inRequest(first, async () => {
      const found = (await sessions.find('s1'))!;
      (found.authorizations as Record<string, unknown>).c = 'changed by a caller';
      expect(await sessions.find('s1')).toMatchObject({ authorizations: { c: { sid: 'x' } } });
      expect(await sessions.findByUid('u1')).toMatchObject({ accountId: 'a1' });
      expect(await sessions.findByUid('u1')).toMatchObject({ accountId: 'a1' });
    });
    expect(reads()).toBe(2);
    await inRequest({}, () => sessions.find('s1'));
    await sessions.find('s1');
    await sessions.find('s1');
    expect(reads()).toBe(5);
  });

  test('a save of a row the request read is seen without a read; one it did not read is read back', async () => {
    const interactions = new Adapter('Interaction');
    await interactions.upsert('i1', { uid: 'i1', result: null }, HOUR);
    await inRequest({}, async () => {
      await interactions.find('i1');
      await interactions.upsert('i1', { uid: 'i1', result: { login: { accountId: 'a1' } } }, HOUR);
      expect(await interactions.find('i1')).toEqual({ uid: 'i1', result: { login: { accountId: 'a1' } } });
      expect(await interactions.findByUid('i1')).toEqual({ uid: 'i1', result: { login: { accountId: 'a1' } } });
      expect(reads()).toBe(1);
      await interactions.upsert('i2', { uid: 'i2' }, HOUR);
      expect(await interactions.find('i2')).toEqual({ uid: 'i2' });
      expect(reads()).toBe(2);
      // A save that is already expired is not remembered: the database does not return it either.
      await interactions.upsert('i1', { uid: 'i1' }, 0);
      expect(await interactions.find('i1')).toBeUndefined();
    });
  });

  test('a consumed row keeps its consumed mark through a remembered save', async () => {
    const codes = new Adapter('AuthorizationCode');
    await codes.upsert('c1', { grantId: 'g1' }, HOUR);
    await codes.consume('c1');
    await inRequest({}, async () => {
      const found = (await codes.find('c1'))!;
      expect(found.consumed).toEqual(expect.any(Number));
      await codes.upsert('c1', { grantId: 'g1', extra: 1 }, HOUR);
      expect(await codes.find('c1')).toEqual({ grantId: 'g1', extra: 1, consumed: found.consumed });
    });
    expect(await codes.find('c1')).toMatchObject({ consumed: expect.any(Number) });
  });

  test('destroy, consume and revokeByGrantId forget what they removed', async () => {
    const sessions = new Adapter('Session');
    const tokens = new Adapter('AccessToken');
    await inRequest({}, async () => {
      await sessions.upsert('s1', { uid: 'u1' }, HOUR);
      await sessions.find('s1');
      await sessions.findByUid('u1');
      await sessions.destroy('s1');
      expect(await sessions.find('s1')).toBeUndefined();
      expect(await sessions.findByUid('u1')).toBeUndefined();

      await tokens.upsert('t1', { grantId: 'g1' }, HOUR);
      expect(await tokens.find('t1')).toBeDefined();
      await new Adapter('RefreshToken').revokeByGrantId('g1');
      expect(await tokens.find('t1')).toBeUndefined();
    });
  });

  test('two requests that found the same code: exactly one consume wins, decided in the database', async () => {
    const codes = new Adapter('AuthorizationCode');
    await codes.upsert('c1', { grantId: 'g1' }, HOUR);
    await new Adapter('Grant').upsert('g1', { accountId: 'a1' }, HOUR);
    const a = {};
    const b = {};
    await inRequest(a, () => codes.find('c1'));
    await inRequest(b, () => codes.find('c1'));
    await inRequest(a, () => codes.consume('c1'));
    await expect(inRequest(b, () => codes.consume('c1'))).rejects.toMatchObject({ error: 'invalid_grant', error_detail: 'authorization code already consumed' });
    // The loser revoked the grant, and nothing remembered in its request says otherwise.
    await inRequest(b, async () => expect(await new Adapter('Grant').find('g1')).toBeUndefined());
  });

  test('the provider reads an account once per request; a login recorded through it is read back', async () => {
    const repository = createAccountRepository(db, clock);
    const accounts = withAccountMemo(repository, createRequestMemo(() => current));
    const created = await repository.createLocal({ email: 'memo@example.no', name: 'Memo', passwordHash: 'x', emailVerified: true });
    statements = [];
    await inRequest({}, async () => {
      expect(await accounts.findById(created.id)).toMatchObject({ id: created.id, lastLoginAt: null });
      expect(await accounts.findById(created.id)).toMatchObject({ id: created.id });
      expect(reads()).toBe(1);
      clock.advance(1000);
      await accounts.recordLogin(created.id);
      expect(await accounts.findById(created.id)).toMatchObject({ lastLoginAt: clock.now() });
      expect(reads()).toBe(2);
    });
    await inRequest({}, () => accounts.findById(created.id));
    expect(reads()).toBe(3);
  });

  test('an eID account and its upstream identity are one statement, once per request; a local account has none', async () => {
    const repository = createAccountRepository(db, clock);
    const accounts = withAccountMemo(repository, createRequestMemo(() => current));
    const federated = await createFederatedAccountRepository(db, clock).loginWith('idporten', '14038541286', { given_name: 'Kari', family_name: 'Nordmann' });
    const local = await repository.createLocal({ email: 'identity@example.no', name: 'Local', passwordHash: 'x', emailVerified: false });
    statements = [];
    await inRequest({}, async () => {
      const found = await accounts.findWithIdentity(federated.accountId);
      expect(found).toEqual({
        account: expect.objectContaining({ id: federated.accountId, kind: 'idporten', status: 'active', name: 'Kari Nordmann', email: null }),
        upstream: { broker: 'idporten', subject: '14038541286', profile: { given_name: 'Kari', family_name: 'Nordmann' } },
      });
      expect(await accounts.findWithIdentity(federated.accountId)).toEqual(found);
      expect(reads()).toBe(1);
      expect(await accounts.findWithIdentity(local.id)).toEqual({ account: expect.objectContaining({ id: local.id, email: 'identity@example.no', emailVerified: false }) });
      expect(reads()).toBe(2);
      // A write through the memo forgets it.
      await accounts.recordLogin(local.id);
      await accounts.findWithIdentity(local.id);
      expect(reads()).toBe(3);
    });
    expect(await repository.findWithIdentity('nobody')).toBeUndefined();
  });

  test('a login is recorded unless the recorded one, read with the credentials, is within LAST_LOGIN_RESOLUTION_MS', async () => {
    const accounts = createAccountRepository(db, clock);
    const created = await accounts.createLocal({ email: 'resolution@example.no', name: 'R', passwordHash: 'x', emailVerified: true });
    const lastLogin = async () => (await accounts.findLocalCredentials('resolution@example.no'))!.lastLoginAt;
    expect(await lastLogin()).toBeNull();
    await accounts.recordLogin(created.id, await lastLogin());
    const first = clock.now();
    expect(await lastLogin()).toBe(first);
    clock.advance(LAST_LOGIN_RESOLUTION_MS - 1);
    await accounts.recordLogin(created.id, await lastLogin());
    expect(await lastLogin()).toBe(first);
    clock.advance(1);
    await accounts.recordLogin(created.id, await lastLogin());
    expect(await lastLogin()).toBe(clock.now());
    // Without what was read before, a login is always written.
    clock.advance(1000);
    await accounts.recordLogin(created.id);
    expect(await lastLogin()).toBe(clock.now());
  });
});
