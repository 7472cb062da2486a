/**
 * How the adapter reads by id (src/store/payload-reads.ts), statement by statement (a knex query
 * listener; nothing timed): concurrent lookups of one id share a statement; a token's or an
 * Interaction's Grant and Session come with it and serve the same request's next lookup of them once;
 * nothing is kept outside a request scope, across requests, or across a write. With the account
 * companion (the provider's adapter), a token brings the account it names, taken once in its request.
 */
import type { Knex } from 'knex';
import { ManualClock } from '../support/manual-clock.js';
import { adapterRequestScope, createAdapterClass, type OidcAdapterClass } from '../../src/store/oidc-adapter.js';
import { takeCompanion } from '../../src/store/payload-reads.js';
import { ACCOUNT_COMPANION, accountCompanion, createAccountRepository, type AccountWithIdentity } from '../../src/store/accounts.js';
import { createTestDatabase, dialects, type TestDatabase } from '../support/databases.js';

const HOUR = 3600;

/** Runs `work` as one request of the provider would (the scope provider.use installs). */
const inRequest = <T>(work: () => Promise<T>): Promise<T> => adapterRequestScope({}, work) as Promise<T>;

describe.each(dialects)('adapter reads on %s', (dialect) => {
  let db: TestDatabase;
  let clock: ManualClock;
  let Adapter: OidcAdapterClass;
  const statements: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    db.knex.on('query', (q: { sql: string }) => statements.push(q.sql));
  });
  afterAll(async () => {
    await db.close();
  });
  beforeEach(async () => {
    await db.knex('oidc_payloads').del();
    clock = new ManualClock();
    Adapter = createAdapterClass(db, clock);
    await new Adapter('Grant').upsert('g1', { accountId: 'acc-1', clientId: 'conf' }, HOUR);
    await new Adapter('Session').upsert('s1', { uid: 'u1', accountId: 'acc-1' }, HOUR);
    await new Adapter('AccessToken').upsert('at1', { accountId: 'acc-1', grantId: 'g1', sessionUid: 'u1' }, HOUR);
    await new Adapter('ClientCredentials').upsert('cc1', { clientId: 'machine' }, HOUR);
    // As oidc-provider saves an interaction started in a session (models/interaction.js): a summary of it.
    await new Adapter('Interaction').upsert('i1', { session: { accountId: 'acc-1', uid: 'u1', cookie: 's1' }, grantId: 'g1', prompt: { name: 'consent' } }, HOUR);
    statements.length = 0;
  });

  const reads = () => statements.filter((s) => /^select/i.test(s)).length;

  it('a token brings the account it names in its own statement, taken once within the request; never outside one', async () => {
    const account = await createAccountRepository(db, clock).createLocal({ email: 'companion@example.no', name: 'C', passwordHash: 'x', emailVerified: true });
    const WithAccount = createAdapterClass(db, clock, { companion: accountCompanion });
    await new WithAccount('AccessToken').upsert('at2', { accountId: account.id, grantId: 'g1', sessionUid: 'u1' }, HOUR);
    await new WithAccount('AccessToken').upsert('at3', { accountId: 'gone', grantId: 'g1' }, HOUR);
    const take = (id: string) => takeCompanion<AccountWithIdentity>(db.knex, ACCOUNT_COMPANION, id);
    statements.length = 0;
    await inRequest(async () => {
      expect(await new WithAccount('AccessToken').find('at2')).toMatchObject({ accountId: account.id });
      expect(reads()).toBe(1);
      expect(take(account.id)).toEqual({ account: expect.objectContaining({ id: account.id, email: 'companion@example.no', status: 'active' }) });
      expect(take(account.id)).toBeUndefined();
      // An account that is gone brings nothing: the reader reads it (and finds nothing) itself.
      await new WithAccount('AccessToken').find('at3');
      expect(take('gone')).toBeUndefined();
      // A write through the adapter (another table) does not drop it; it is still taken once.
      await new WithAccount('AccessToken').find('at2');
      await new WithAccount('ClientCredentials').destroy('cc1');
      expect(take(account.id)).toMatchObject({ account: { id: account.id } });
    });
    // Outside a request the statement has no join, and nothing is kept.
    statements.length = 0;
    await new WithAccount('AccessToken').find('at2');
    expect(statements.join(' ')).not.toMatch(/accounts/);
    expect(take(account.id)).toBeUndefined();
  });

  it('writes the account and session uid of a payload into their columns', async () => {
    const row = await db.knex('oidc_payloads').where({ model: 'AccessToken', id: 'at1' }).first('account_id', 'session_uid', 'grant_id');
    expect(row).toEqual({ account_id: 'acc-1', session_uid: 'u1', grant_id: 'g1' });
    await new Adapter('AccessToken').upsert('at1', { grantId: 'g1' }, HOUR);
    expect(await db.knex('oidc_payloads').where({ model: 'AccessToken', id: 'at1' }).first('account_id', 'session_uid')).toEqual({ account_id: null, session_uid: null });
  });

  it("writes an Interaction's session uid into the column, and clears it when the provider drops it", async () => {
    const column = () => db.knex('oidc_payloads').where({ model: 'Interaction', id: 'i1' }).first('session_uid', 'grant_id', 'account_id');
    expect(await column()).toEqual({ session_uid: 'u1', grant_id: 'g1', account_id: 'acc-1' });
    // The provider deletes session.uid and saves again when another account logs in (resume.js).
    await new Adapter('Interaction').upsert('i1', { session: { accountId: 'acc-1', cookie: 's1' }, grantId: 'g1' }, HOUR);
    expect(await column()).toEqual({ session_uid: null, grant_id: 'g1', account_id: 'acc-1' });
    // A finished Interaction names what its resume loads: the account its login chose, the grant its consent saved.
    await new Adapter('Interaction').upsert('i1', { session: { accountId: 'acc-1', uid: 'u1' }, grantId: 'g1', result: { login: { accountId: 'acc-2' }, consent: { grantId: 'g2' } } }, HOUR);
    expect(await column()).toEqual({ session_uid: 'u1', grant_id: 'g2', account_id: 'acc-2' });
    // Neither a stray sessionUid on an Interaction nor a session summary on a token counts.
    await new Adapter('Interaction').upsert('i1', { sessionUid: 'u1', session: 'u1' }, HOUR);
    await new Adapter('AccessToken').upsert('at1', { session: { uid: 'u1' } }, HOUR);
    expect(await column()).toEqual({ session_uid: null, grant_id: null, account_id: null });
    expect(await db.knex('oidc_payloads').where({ model: 'AccessToken', id: 'at1' }).first('session_uid')).toEqual({ session_uid: null });
  });

  it('answers the lookups of one id under several models in one statement, each with its own row', async () => {
    const [at, cc, rt] = await Promise.all(['AccessToken', 'ClientCredentials', 'RefreshToken'].map((m) => new Adapter(m).find('at1')));
    expect(at).toEqual({ accountId: 'acc-1', grantId: 'g1', sessionUid: 'u1' });
    expect(cc).toBeUndefined();
    expect(rt).toBeUndefined();
    expect(reads()).toBe(1);

    statements.length = 0;
    const [a, b] = await Promise.all([new Adapter('AccessToken').find('at1'), new Adapter('ClientCredentials').find('cc1')]);
    expect([a?.grantId, b?.clientId]).toEqual(['g1', 'machine']);
    expect(reads()).toBe(2); // different ids: a statement each
  });

  it('serves the token\'s Grant and Session to the same request once, from the token\'s statement', async () => {
    await inRequest(async () => {
      await new Adapter('AccessToken').find('at1');
      expect(await new Adapter('Session').findByUid('u1')).toEqual({ uid: 'u1', accountId: 'acc-1' });
      expect(await new Adapter('Grant').find('g1')).toEqual({ accountId: 'acc-1', clientId: 'conf' });
      expect(reads()).toBe(1);
      // Once: the next lookup reads the table.
      expect(await new Adapter('Grant').find('g1')).toEqual({ accountId: 'acc-1', clientId: 'conf' });
      expect(reads()).toBe(2);
      // Only by the key it was read with: a Session by id is not served from the token's read.
      expect(await new Adapter('Session').find('s1')).toEqual({ uid: 'u1', accountId: 'acc-1' });
      expect(reads()).toBe(3);
    });
  });

  it("serves an Interaction's Session and Grant to the same request once, from the Interaction's statement", async () => {
    await inRequest(async () => {
      expect(await new Adapter('Interaction').find('i1')).toMatchObject({ session: { uid: 'u1' }, grantId: 'g1' });
      expect(await new Adapter('Session').findByUid('u1')).toEqual({ uid: 'u1', accountId: 'acc-1' });
      expect(await new Adapter('Grant').find('g1')).toEqual({ accountId: 'acc-1', clientId: 'conf' });
      expect(reads()).toBe(1);
      expect(await new Adapter('Session').findByUid('u1')).toEqual({ uid: 'u1', accountId: 'acc-1' });
      expect(reads()).toBe(2);
    });
  });

  it('sees a session ended before the request, by this instance or another', async () => {
    await inRequest(() => new Adapter('Interaction').find('i1')); // an earlier request's snapshot dies with it
    await new Adapter('Session').destroy('s1');
    await inRequest(async () => {
      statements.length = 0;
      expect(await new Adapter('Interaction').find('i1')).toBeDefined();
      expect(await new Adapter('Session').findByUid('u1')).toBeUndefined();
      expect(reads()).toBe(1); // the Interaction's statement found no Session: that is the answer
    });
    await new Adapter('Session').upsert('s2', { uid: 'u1', accountId: 'acc-1' }, HOUR);
    await db.knex('oidc_payloads').where({ model: 'Session', id: 's2' }).del(); // another instance
    await inRequest(async () => {
      await new Adapter('Interaction').find('i1');
      expect(await new Adapter('Session').findByUid('u1')).toBeUndefined();
    });
  });

  it("drops an Interaction's Session at a Grant or Session write in the request, even one made while the read was out", async () => {
    await inRequest(async () => {
      await new Adapter('Interaction').find('i1');
      await new Adapter('Session').upsert('s1', { uid: 'u1', accountId: 'acc-2' }, HOUR);
      expect(await new Adapter('Session').findByUid('u1')).toEqual({ uid: 'u1', accountId: 'acc-2' });
    });
    await inRequest(async () => {
      await new Adapter('Interaction').find('i1');
      await new Adapter('Grant').upsert('g1', { accountId: 'acc-2', clientId: 'conf' }, HOUR); // a Grant written: the snapshot may be stale
      statements.length = 0;
      expect(await new Adapter('Session').findByUid('u1')).toEqual({ uid: 'u1', accountId: 'acc-2' });
      expect(reads()).toBe(1);
    });
    await inRequest(async () => {
      await new Adapter('Interaction').find('i1');
      // Writes that cannot change a Grant or Session row leave the snapshot: the resume destroys its
      // Interaction and saves the next, issues a code, revokes a grant's tokens.
      await new Adapter('Interaction').upsert('i1', { session: { accountId: 'acc-2', uid: 'u1' } }, HOUR);
      await new Adapter('Interaction').destroy('i-other');
      await new Adapter('AuthorizationCode').upsert('code-1', { accountId: 'acc-2', grantId: 'g1' }, 60);
      await new Adapter('AccessToken').revokeByGrantId('g-other');
      statements.length = 0;
      expect(await new Adapter('Session').findByUid('u1')).toEqual({ uid: 'u1', accountId: 'acc-2' });
      expect(reads()).toBe(0);
    });
    await inRequest(async () => {
      const reading = new Adapter('Interaction').find('i1');
      const writing = new Adapter('Session').destroy('s1'); // before the read's statement is even sent
      await Promise.all([reading, writing]);
      statements.length = 0;
      expect(await new Adapter('Session').findByUid('u1')).toBeUndefined();
      expect(reads()).toBe(1);
    });
  });

  it('reads an Interaction without a session, or saved before its session uid had a column, alone', async () => {
    await new Adapter('Interaction').upsert('i2', { prompt: { name: 'login' } }, HOUR);
    await db.knex('oidc_payloads').where({ model: 'Interaction', id: 'i1' }).update({ session_uid: null }); // as saved before
    await inRequest(async () => {
      statements.length = 0;
      await Promise.all([new Adapter('Interaction').find('i1'), new Adapter('Interaction').find('i2')]);
      expect(await new Adapter('Session').findByUid('u1')).toEqual({ uid: 'u1', accountId: 'acc-1' });
      expect(reads()).toBe(3);
    });
  });

  it('reads an expired or missing Grant as absent, like the table', async () => {
    await new Adapter('Grant').upsert('g1', { accountId: 'acc-1' }, 1);
    clock.advance(2_000);
    await inRequest(async () => {
      statements.length = 0;
      expect(await new Adapter('AccessToken').find('at1')).toBeDefined();
      expect(await new Adapter('Grant').find('g1')).toBeUndefined();
      expect(reads()).toBe(1);
    });
  });

  it('keeps nothing outside a request scope, nor from one request to the next', async () => {
    await new Adapter('AccessToken').find('at1');
    await new Adapter('Grant').find('g1');
    expect(reads()).toBe(2);

    statements.length = 0;
    await inRequest(() => new Adapter('AccessToken').find('at1'));
    await db.knex('oidc_payloads').where({ model: 'Grant', id: 'g1' }).del(); // another instance revokes
    await inRequest(async () => {
      expect(await new Adapter('Grant').find('g1')).toBeUndefined();
    });
    expect(reads()).toBe(2);
  });

  it('drops what the request read with its token at every write, even one made while the read was out', async () => {
    await inRequest(async () => {
      await new Adapter('AccessToken').find('at1');
      await new Adapter('Grant').upsert('g1', { accountId: 'acc-1', clientId: 'conf', scope: 'openid' }, HOUR);
      expect(await new Adapter('Grant').find('g1')).toEqual({ accountId: 'acc-1', clientId: 'conf', scope: 'openid' });
    });
    await inRequest(async () => {
      statements.length = 0;
      const reading = new Adapter('AccessToken').find('at1');
      const writing = new Adapter('Grant').destroy('g1'); // before the read's statement is even sent
      await Promise.all([reading, writing]);
      expect(await new Adapter('Grant').find('g1')).toBeUndefined();
      expect(reads()).toBe(2);
    });
  });

  it('hands a failed statement to every caller that shared it', async () => {
    const unreachable = (() => {
      throw new Error('database unreachable');
    }) as unknown as Knex;
    const broken = createAdapterClass({ knex: unreachable, dialect, close: async () => {} }, clock);
    const results = await Promise.allSettled(['AccessToken', 'RefreshToken'].map((m) => new broken(m).find('at1')));
    expect(results).toEqual([
      { status: 'rejected', reason: new Error('database unreachable') },
      { status: 'rejected', reason: new Error('database unreachable') },
    ]);
  });

  it('an id no row can have (a NUL) is answered absent without a statement, and fails no lookup beside it', async () => {
    const [found, impossible] = await Promise.all([new Adapter('AccessToken').find('at1'), new Adapter('AccessToken').find('at\u0000x')]);
    expect(found).toMatchObject({ grantId: 'g1' });
    expect(impossible).toBeUndefined();
    expect(reads()).toBe(1);
  });

  (dialect === 'postgres' ? it : it.skip)('PostgreSQL: lookups by other requests share the next statement while one is in flight, each with its own row and snapshot', async () => {
    const ids = Array.from({ length: 10 }, (_, k) => `atx${k}`);
    for (const [k, id] of ids.entries()) await new Adapter('AccessToken').upsert(id, { accountId: 'acc-1', grantId: 'g1', sessionUid: 'u1', n: k }, HOUR);
    statements.length = 0;
    const lookups = [...ids, 'missing'].map((id) =>
      inRequest(async () => {
        const token = await new Adapter('AccessToken').find(id);
        // The Grant came with the token, for this request: no statement of its own.
        const grant = token ? await new Adapter('Grant').find('g1') : undefined;
        return { token, grant };
      }),
    );
    const results = await Promise.all(lookups);
    expect(results.slice(0, 10).map((r) => r.token?.n)).toEqual(ids.map((_, k) => k));
    expect(results.slice(0, 10).every((r) => r.grant?.clientId === 'conf')).toBe(true);
    expect(results[10]).toEqual({ token: undefined, grant: undefined });
    // The first went out alone; the ten that asked while it was out went out together.
    expect(reads()).toBe(2);
  });

  (dialect === 'postgres' ? it : it.skip)('PostgreSQL: a lookup asked while a statement is in flight is never answered by it, but by one sent after it asked', async () => {
    const twin = db.openTwin();
    try {
      await new Adapter('AccessToken').upsert('at2', { accountId: 'acc-1', grantId: 'g1' }, HOUR);
      statements.length = 0;
      let first: Promise<unknown> | undefined;
      let second: Promise<unknown> | undefined;
      await twin.knex.transaction(async (trx) => {
        // The table locked: the first lookup's statement is sent and waits for this transaction.
        await trx.raw('lock table oidc_payloads in access exclusive mode');
        await trx('oidc_payloads').where({ model: 'AccessToken', id: 'at2' }).del();
        const sent = new Promise<void>((resolve) => db.knex.once('query', () => resolve()));
        first = new Adapter('AccessToken').find('at1');
        await sent;
        second = new Adapter('AccessToken').find('at2');
        // Let the second's tick pass: it waits, it is not sent beside the first.
        await new Promise<void>((resolve) => setImmediate(resolve));
        expect(reads()).toBe(1);
      });
      expect(await first).toMatchObject({ grantId: 'g1' });
      // Sent after the first settled, so after the delete committed: it sees the token gone.
      expect(await second).toBeUndefined();
      expect(reads()).toBe(2);
    } finally {
      await twin.close();
    }
  });
});
