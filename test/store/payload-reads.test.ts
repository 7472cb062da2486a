/**
 * How the adapter reads by id (src/store/payload-reads.ts), statement by statement (a knex query
 * listener; nothing timed): concurrent lookups of one id share a statement; a token's Grant and Session
 * come with it and serve the same request's next lookup of them once; nothing is kept outside a request
 * scope, across requests, or across a write.
 */
import type { Knex } from 'knex';
import { ManualClock } from '../support/manual-clock.js';
import { adapterRequestScope, createAdapterClass, type OidcAdapterClass } from '../../src/store/oidc-adapter.js';
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
    statements.length = 0;
  });

  const reads = () => statements.filter((s) => /^select/i.test(s)).length;

  it('writes the account and session uid of a payload into their columns', async () => {
    const row = await db.knex('oidc_payloads').where({ model: 'AccessToken', id: 'at1' }).first('account_id', 'session_uid', 'grant_id');
    expect(row).toEqual({ account_id: 'acc-1', session_uid: 'u1', grant_id: 'g1' });
    await new Adapter('AccessToken').upsert('at1', { grantId: 'g1' }, HOUR);
    expect(await db.knex('oidc_payloads').where({ model: 'AccessToken', id: 'at1' }).first('account_id', 'session_uid')).toEqual({ account_id: null, session_uid: null });
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
});
