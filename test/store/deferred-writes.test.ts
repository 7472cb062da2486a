/**
 * The adapter keeps a request's saves and deletes and sends them together (src/store/deferred-writes.ts),
 * statement by statement (a knex query listener; nothing timed): on PostgreSQL nothing is sent until a
 * read could see it, another adapter write needs it, or the request ends, and then one statement carries
 * every kept write; each request reads its own writes; a consume or a revocation finds the rows saved
 * before it; a write that fails fails the request and takes its Location and Set-Cookie with it. On
 * SQLite, and outside a request, every write is sent at once. A statement of our own (a window count)
 * carries the kept writes in front of it, all or nothing, unless one is on its own table. Requests that
 * end while one's statement is in flight (held there by a lock on the table) share the next statement.
 */
import { Writable } from 'node:stream';
import { ManualClock } from '../support/manual-clock.js';
import { createLogger } from '../../src/logger.js';
import { createAuditLog } from '../../src/store/audit.js';
import { adapterRequestScope, createAdapterClass, type OidcAdapterClass } from '../../src/store/oidc-adapter.js';
import { createDeferredWrites, flushRequestWrites } from '../../src/store/deferred-writes.js';
import { createRateLimits } from '../../src/store/rate-limits.js';
import { createTestDatabase, dialects, postgresUrl, type TestDatabase } from '../support/databases.js';

const HOUR = 3600;

/** Runs `work` as one request would (the scope provider.use and our interaction pages install). */
const inRequest = <T>(work: () => Promise<T>, ctx: unknown = {}): Promise<T> => adapterRequestScope(ctx, work) as Promise<T>;

describe.each(dialects)('kept writes on %s', (dialect) => {
  let db: TestDatabase;
  let Adapter: OidcAdapterClass;
  const statements: string[] = [];
  const deferring = dialect === 'postgres';

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    db.knex.on('query', (q: { sql: string }) => statements.push(q.sql));
  });
  afterAll(async () => {
    await db.close();
  });
  beforeEach(async () => {
    await db.knex('oidc_payloads').del();
    Adapter = createAdapterClass(db, new ManualClock());
    await new Adapter('Interaction').upsert('old', { prompt: { name: 'login' } }, HOUR);
    await new Adapter('Session').upsert('s-old', { uid: 'u1', accountId: 'acc-1' }, HOUR);
    statements.length = 0;
  });

  const row = (model: string, id: string) => db.knex('oidc_payloads').where({ model, id }).first('payload', 'consumed_at');
  const writes = () => statements.filter((s) => !/^select/i.test(s));

  it('sends the writes of a request as one statement when it ends (as a login resume makes them)', async () => {
    await inRequest(async () => {
      await new Adapter('Interaction').destroy('old');
      await new Adapter('Interaction').upsert('next', { prompt: { name: 'consent' } }, HOUR);
      await new Adapter('AuthorizationCode').upsert('code', { accountId: 'acc-1', grantId: 'g1' }, 60);
      await new Adapter('Session').destroy('s-old');
      await new Adapter('Session').upsert('s-new', { uid: 'u1', accountId: 'acc-1' }, HOUR);
      expect(statements).toHaveLength(deferring ? 0 : 5);
    });
    expect(statements).toHaveLength(deferring ? 1 : 5);
    expect(await row('Interaction', 'old')).toBeUndefined();
    expect(await row('Session', 's-old')).toBeUndefined();
    expect(JSON.parse((await row('Interaction', 'next'))!.payload)).toEqual({ prompt: { name: 'consent' } });
    expect(await row('AuthorizationCode', 'code')).toBeDefined();
    expect(await row('Session', 's-new')).toBeDefined();
  });

  it('keeps one write per row: the last save, or a delete after a save; a save after a delete is sent as a delete, then a save', async () => {
    await inRequest(async () => {
      await new Adapter('Interaction').upsert('i', { n: 1 }, HOUR);
      await new Adapter('Interaction').upsert('i', { n: 2 }, HOUR);
      await new Adapter('Grant').upsert('g', { accountId: 'acc-1' }, HOUR);
      await new Adapter('Grant').destroy('g');
      await new Adapter('Interaction').destroy('old');
      await new Adapter('Interaction').upsert('old', { again: true }, HOUR);
    });
    expect(writes()).toHaveLength(deferring ? 2 : 6);
    expect(JSON.parse((await row('Interaction', 'i'))!.payload)).toEqual({ n: 2 });
    expect(await row('Grant', 'g')).toBeUndefined();
    expect(JSON.parse((await row('Interaction', 'old'))!.payload)).toEqual({ again: true });
  });

  it('reads its own writes: a kept row, or the Session a token or Interaction brings, is sent before the read', async () => {
    await inRequest(async () => {
      await new Adapter('Interaction').upsert('i', { session: { uid: 'u1', accountId: 'acc-1' } }, HOUR);
      await new Adapter('Session').upsert('s-old', { uid: 'u1', accountId: 'acc-2' }, HOUR);
      expect(await new Adapter('Interaction').find('i')).toEqual({ session: { uid: 'u1', accountId: 'acc-1' } });
      // The Session came with the Interaction, as saved in this request.
      expect(await new Adapter('Session').findByUid('u1')).toEqual({ uid: 'u1', accountId: 'acc-2' });
      await new Adapter('Interaction').destroy('i');
      expect(await new Adapter('Interaction').find('i')).toBeUndefined();
      // A read that cannot see a kept write does not send it.
      await new Adapter('Interaction').upsert('j', { kept: true }, HOUR);
      statements.length = 0;
      await new Adapter('AccessToken').find('unrelated');
      expect(writes()).toHaveLength(0);
    });
    expect(JSON.parse((await row('Interaction', 'j'))!.payload)).toEqual({ kept: true });
  });

  it('a consume and a revocation by grant find the rows this request saved before them', async () => {
    await inRequest(async () => {
      await new Adapter('AuthorizationCode').upsert('code', { grantId: 'g0' }, 60);
      await new Adapter('AuthorizationCode').consume('code');
      await new Adapter('AccessToken').upsert('at', { grantId: 'g1' }, HOUR);
      await new Adapter('RefreshToken').upsert('rt', { grantId: 'g1' }, HOUR);
      await new Adapter('AccessToken').revokeByGrantId('g1');
    });
    expect(Number((await row('AuthorizationCode', 'code'))?.consumed_at)).toBeGreaterThan(0);
    expect(await row('AccessToken', 'at')).toBeUndefined();
    expect(await row('RefreshToken', 'rt')).toBeUndefined();
  });

  it("our own stores' statements on those rows send what is kept first (flushRequestWrites)", async () => {
    await inRequest(async () => {
      await new Adapter('Session').upsert('s-kept', { uid: 'u2', accountId: 'acc-3' }, HOUR);
      const byAccount = () => db.knex('oidc_payloads').where({ account_id: 'acc-3' }).select('id');
      // A statement of another store does not see what the adapter keeps…
      expect(await byAccount()).toEqual(deferring ? [] : [{ id: 's-kept' }]);
      // …until it asks for it to be sent.
      await flushRequestWrites(db.knex);
      expect(await byAccount()).toEqual([{ id: 's-kept' }]);
    });
  });

  it("a request's audit events are stored in the statement that stores what they record, and logged once stored", async () => {
    const lines: string[] = [];
    const logger = createLogger('info', new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
    const audit = createAuditLog(db, new ManualClock(), { logger });
    const events = () => db.knex('audit_events').where({ event: 'token.issued' }).select('client_id');
    await inRequest(async () => {
      await new Adapter('AccessToken').upsert('at', { accountId: 'acc-1', grantId: 'g1' }, HOUR);
      audit.recordInBackground({ event: 'token.issued', outcome: 'success', actor: 'client:conf', clientId: 'conf' });
      await audit.record({ event: 'token.issued', outcome: 'success', actor: 'client:conf', clientId: 'conf2' });
      // On SQLite they are stored at once (the two events group-committed as usual).
      if (deferring) expect(writes()).toHaveLength(0);
      if (deferring) expect(lines.filter((l) => l.includes('"audit":true'))).toHaveLength(0);
    });
    await audit.settled();
    if (deferring) expect(writes()).toHaveLength(1);
    expect(await row('AccessToken', 'at')).toBeDefined();
    expect((await events()).map((e) => e.client_id).sort()).toEqual(['conf', 'conf2']);
    expect(lines.filter((l) => l.includes('"audit":true'))).toHaveLength(2);
  });

  it('outside a request every write is sent at once', async () => {
    await new Adapter('Interaction').upsert('now', { at: 'once' }, HOUR);
    expect(writes()).toHaveLength(1);
    expect(await row('Interaction', 'now')).toBeDefined();
  });

  it("a write started after the request's end is sent at once, not kept for a flush that already happened", async () => {
    let late: Promise<void> | undefined;
    await inRequest(async () => {
      // As an event listener's callback would: it runs in the request's async context, but later.
      setImmediate(() => {
        late = new Adapter('Interaction').upsert('late', { late: true }, HOUR);
      });
    });
    for (let i = 0; i < 100 && !late; i += 1) await new Promise((resolve) => setImmediate(resolve));
    await late;
    expect(await row('Interaction', 'late')).toBeDefined();
  });
});

(postgresUrl ? describe : describe.skip)('a kept write that fails, on postgres', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('postgres');
  });
  afterAll(async () => {
    await db.close();
  });

  it('fails the request, and its Location and Set-Cookie go: what they point to was not stored', async () => {
    const twin = db.openTwin();
    const Adapter = createAdapterClass(twin, new ManualClock());
    const removed: string[] = [];
    const ctx = { remove: (field: string) => removed.push(field) };
    await expect(
      inRequest(async () => {
        await new Adapter('Session').upsert('s', { uid: 'u', accountId: 'acc' }, HOUR);
        await twin.close(); // the database is gone before the request ends
        return 'answered';
      }, ctx),
    ).rejects.toThrow();
    expect(removed.sort()).toEqual(['Location', 'Set-Cookie']);
    expect(await db.knex('oidc_payloads').where({ model: 'Session', id: 's' }).first()).toBeUndefined();
  });

  it('fails the request even when the send that failed was started by someone else (an event listener) and swallowed', async () => {
    const twin = db.openTwin();
    const Adapter = createAdapterClass(twin, new ManualClock());
    let listenerSaw: unknown;
    const answered = await Promise.resolve(
      inRequest(async () => {
        await new Adapter('ClientCredentials').upsert('cc', { clientId: 'machine' }, HOUR);
        await twin.close();
        // As the audit listener does before it records a token issued: it waits for the writes, and on failure records nothing.
        await flushRequestWrites(twin.knex).catch((err: unknown) => (listenerSaw = err));
        await new Adapter('Interaction').upsert('after', { never: 'sent' }, HOUR);
        return 'answered';
      }),
    ).catch((err: unknown) => err);
    expect(listenerSaw).toBeInstanceOf(Error);
    expect(answered).toBe(listenerSaw);
    expect(await db.knex('oidc_payloads').whereIn('id', ['cc', 'after']).select('id')).toEqual([]);
  });
});

(postgresUrl ? describe : describe.skip)('a statement of ours that carries the kept writes, on postgres', () => {
  let db: TestDatabase;
  let Adapter: OidcAdapterClass;
  const statements: string[] = [];
  const clock = new ManualClock();

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    db.knex.on('query', (q: { sql: string }) => statements.push(q.sql));
    Adapter = createAdapterClass(db, clock);
  });
  afterAll(async () => {
    await db.close();
  });
  beforeEach(async () => {
    await db.knex('oidc_payloads').del();
    await db.knex('rate_limits').del();
    statements.length = 0;
  });

  it('a new login at /auth: the Interaction the provider saved goes in front of the window count, one statement', async () => {
    const limits = createRateLimits(db, clock);
    const counts = await inRequest(async () => {
      await new Adapter('Interaction').upsert('new', { prompt: { name: 'login' } }, HOUR);
      const counted = await limits.countEachInWindow(['auth:client:a'], 60);
      expect(statements).toHaveLength(1);
      return counted;
    });
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/^with w0 as \(insert into "oidc_payloads".*counted as \(insert into rate_limits/s);
    expect(counts).toEqual([{ hits: 1, retryAfterSeconds: 60 }]);
    expect(await db.knex('oidc_payloads').where({ model: 'Interaction', id: 'new' }).first()).toBeDefined();
    // Nothing kept: the count alone, as outside a request.
    statements.length = 0;
    await inRequest(() => limits.countEachInWindow(['auth:client:a'], 60));
    await limits.countEachInWindow(['auth:client:a'], 60);
    expect(statements).toHaveLength(2);
    expect((await limits.read('auth:client:a'))!.hits).toBe(3);
  });

  it("a kept write on the statement's own table is sent first, on its own: one statement never changes a row twice", async () => {
    const limits = createRateLimits(db, clock);
    await limits.countEachInWindow(['k'], 60);
    await limits.countEachInWindow(['k'], 60);
    statements.length = 0;
    const counts = await inRequest(async () => {
      await new Adapter('Interaction').upsert('new', { prompt: { name: 'login' } }, HOUR);
      await limits.clear('k');
      expect(statements).toHaveLength(0);
      return limits.countEachInWindow(['k'], 60);
    });
    expect(statements).toHaveLength(2);
    // The clear went first: the count starts again.
    expect(counts[0]!.hits).toBe(1);
    expect(await db.knex('oidc_payloads').where({ model: 'Interaction', id: 'new' }).first()).toBeDefined();
  });

  it('a carrying statement that fails stores none of what it carried, and fails the request', async () => {
    const deferred = createDeferredWrites(db);
    const carrier = { ctes: [{ name: 'broken', sql: 'select 1 / (select count(*) from rate_limits where false) as n', bindings: [] }], main: { sql: 'select * from broken', bindings: [] }, table: 'rate_limits' };
    const failed = await Promise.resolve(
      inRequest(async () => {
        await new Adapter('Interaction').upsert('lost', { prompt: { name: 'login' } }, HOUR);
        await deferred.sendWith(carrier).catch(() => undefined);
        return 'answered';
      }),
    ).catch((err: unknown) => err);
    expect(String(failed)).toMatch(/division by zero/);
    expect(await db.knex('oidc_payloads').where({ model: 'Interaction', id: 'lost' }).first()).toBeUndefined();
  });
});

(postgresUrl ? describe : describe.skip)('the kept writes of different requests, sharing statements on postgres', () => {
  let db: TestDatabase;
  let twin: ReturnType<TestDatabase['openTwin']>;
  let Adapter: OidcAdapterClass;
  const statements: string[] = [];
  const clock = new ManualClock();

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    twin = db.openTwin();
    db.knex.on('query', (q: { sql: string }) => statements.push(q.sql));
    Adapter = createAdapterClass(db, clock);
  });
  afterAll(async () => {
    await twin.close();
    await db.close();
  });
  beforeEach(async () => {
    await db.knex('oidc_payloads').del();
    await db.knex('rate_limits').del();
    statements.length = 0;
  });

  const writes = () => statements.filter((s) => !/^select/i.test(s));
  const row = (model: string, id: string) => db.knex('oidc_payloads').where({ model, id }).first('payload');
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
  /** A request that saves `rows` and ends; `answered` tells whether it has been answered yet. */
  function request(rows: Array<[model: string, id: string, payload: Record<string, unknown>]>) {
    const state = { answered: false, done: undefined as unknown as Promise<unknown> };
    state.done = inRequest(async () => {
      for (const [model, id, payload] of rows) await new Adapter(model).upsert(id, payload, HOUR);
    }).then(
      () => (state.answered = true),
      (err: unknown) => {
        state.answered = true;
        throw err;
      },
    );
    return state;
  }
  /**
   * Runs `during` while the first request's statement is sent and held by a lock on the table (in a
   * transaction of another pool), then lets it go: what `during` starts asks while a statement is in flight.
   */
  async function whileOneIsInFlight(during: () => Promise<void>): Promise<void> {
    await twin.knex.transaction(async (trx) => {
      await trx.raw('lock table oidc_payloads in access exclusive mode');
      const sent = new Promise<void>((resolve) => db.knex.once('query', () => resolve()));
      first = request([['ClientCredentials', 'first', { n: 0 }]]);
      await sent;
      await during();
    });
    await first!.done;
  }
  let first: ReturnType<typeof request> | undefined;

  it('requests that end while one statement is out wait, and go out together in the next; each is answered once its rows are stored', async () => {
    let others: Array<ReturnType<typeof request>> = [];
    await whileOneIsInFlight(async () => {
      others = [1, 2, 3, 4].map((n) => request([['ClientCredentials', `cc${n}`, { n }], ['Session', `s${n}`, { uid: `u${n}` }]]));
      await turn();
      expect(writes()).toHaveLength(1);
      expect(others.some((o) => o.answered)).toBe(false);
    });
    await Promise.all(others.map((o) => o.done));
    expect(writes()).toHaveLength(2);
    for (const n of [1, 2, 3, 4]) {
      expect(JSON.parse((await row('ClientCredentials', `cc${n}`))!.payload)).toEqual({ n });
      expect(await row('Session', `s${n}`)).toBeDefined();
    }
  });

  it('a request that writes a row a waiting one also writes is sent at once, on its own: no statement writes a row twice', async () => {
    let others: Array<ReturnType<typeof request>> = [];
    await whileOneIsInFlight(async () => {
      others = [
        request([['Session', 'shared', { v: 1 }]]),
        request([['Session', 'shared', { v: 2 }]]),
        request([['ClientCredentials', 'other', { n: 3 }]]),
      ];
      await turn();
      // first; the second Session write alone, at once (held by the lock like the first).
      expect(writes()).toHaveLength(2);
    });
    await Promise.all(others.map((o) => o.done));
    // then the first Session write with the ClientCredentials row.
    expect(writes()).toHaveLength(3);
    expect([1, 2]).toContain(JSON.parse((await row('Session', 'shared'))!.payload).v);
    expect(await row('ClientCredentials', 'other')).toBeDefined();
  });

  it('writes that lock a shared row (a rate-limit clear) go at once, on their own', async () => {
    const limits = createRateLimits(db, clock);
    await limits.countEachInWindow(['login:k'], 60);
    statements.length = 0;
    await whileOneIsInFlight(async () => {
      // Not held behind the statement in flight (nor by its lock: another table): answered before it.
      await inRequest(() => limits.clear('login:k'));
      expect(await db.knex('rate_limits').where({ key: 'login:k' }).first()).toBeUndefined();
    });
  });

  it('a shared statement that fails stores nothing of any request in it, and fails each', async () => {
    const deferred = createDeferredWrites(db);
    let innocent: ReturnType<typeof request> | undefined;
    let broken: Promise<unknown> | undefined;
    await whileOneIsInFlight(async () => {
      innocent = request([['ClientCredentials', 'innocent', { n: 1 }]]);
      broken = inRequest(async () => {
        deferred.keepInsert({ model: 'audit_events', id: 'broken', statement: () => db.knex('no_such_table').insert({ n: 1 }) });
      });
      await turn();
    });
    await expect(innocent!.done).rejects.toThrow(/no_such_table/);
    await expect(broken).rejects.toThrow(/no_such_table/);
    expect(await row('ClientCredentials', 'innocent')).toBeUndefined();
  });
});
