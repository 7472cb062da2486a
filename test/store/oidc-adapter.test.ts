/**
 * Conformance of the oidc-provider adapter and the sweeper, run against every dialect in test/support/databases.ts.
 * Expiry is driven by a ManualClock, so no test waits for time to pass.
 */
import type { Knex } from 'knex';
import { ManualClock } from '../support/manual-clock.js';
import type { Database } from '../../src/store/db.js';
import { createAdapterClass, type OidcAdapterClass } from '../../src/store/oidc-adapter.js';
import { startSweeper, sweepExpired } from '../../src/store/sweeper.js';
import { createTestDatabase, dialects, type TestDatabase } from '../support/databases.js';

const { jest } = import.meta;

const HOUR = 3600;
/** Fake setInterval alone: the database drivers keep their real timers. */
const ONLY_INTERVALS: Parameters<typeof jest.useFakeTimers>[0] = {
  doNotFake: ['Date', 'hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout'],
};

describe.each(dialects)('oidc adapter on %s', (dialect) => {
  let db: TestDatabase;
  let clock: ManualClock;
  let Adapter: OidcAdapterClass;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await db.close();
  });
  beforeEach(async () => {
    await db.knex('oidc_payloads').del();
    clock = new ManualClock();
    Adapter = createAdapterClass(db, clock);
  });

  const storedIds = async (): Promise<string[]> =>
    (await db.knex('oidc_payloads').select('model', 'id').orderBy(['model', 'id'])).map(
      (r: { model: string; id: string }) => `${r.model}:${r.id}`,
    );

  describe('upsert and find', () => {
    it('returns exactly what was stored, without a consumed flag', async () => {
      const payload = {
        jti: 'at1',
        kind: 'AccessToken',
        accountId: 'acc-1',
        grantId: 'g1',
        scope: 'openid email',
        claims: { id_token: { acr: { essential: true, values: ['idporten-loa-high'] } } },
        amr: ['pwd', 'otp'],
        extra: { name: 'Åse Ødegård', n: 0, none: null, yes: true },
      };
      await new Adapter('AccessToken').upsert('at1', payload, HOUR);
      const found = await new Adapter('AccessToken').find('at1');
      expect(found).toEqual(payload);
      expect(found).not.toHaveProperty('consumed');
    });

    it('overwrites payload, lookup columns and lifetime of an existing id', async () => {
      const sessions = new Adapter('Session');
      await sessions.upsert('s1', { jti: 's1', uid: 'u-old', accountId: 'a' }, 10);
      await sessions.upsert('s1', { jti: 's1', uid: 'u-new', accountId: 'b' }, HOUR);

      expect(await storedIds()).toEqual(['Session:s1']);
      expect(await sessions.find('s1')).toEqual({ jti: 's1', uid: 'u-new', accountId: 'b' });
      expect(await sessions.findByUid('u-old')).toBeUndefined();
      expect(await sessions.findByUid('u-new')).toEqual({ jti: 's1', uid: 'u-new', accountId: 'b' });
      clock.advance(11_000); // past the first lifetime, within the second
      expect(await sessions.find('s1')).toEqual({ jti: 's1', uid: 'u-new', accountId: 'b' });
    });

    it('settles concurrent upserts of one id into one row (a real insert-or-update)', async () => {
      const codes = new Adapter('AuthorizationCode');
      await Promise.all([1, 2, 3, 4, 5].map((n) => codes.upsert('c1', { jti: 'c1', n }, 60)));
      expect(await storedIds()).toEqual(['AuthorizationCode:c1']);
      expect([1, 2, 3, 4, 5]).toContain((await codes.find('c1'))?.n);
    });

    it('answers undefined for an unknown id, uid or user code', async () => {
      await new Adapter('Session').upsert('s1', { uid: 'u1' }, HOUR);
      await new Adapter('DeviceCode').upsert('d1', { userCode: 'ABCD-EFGH' }, HOUR);
      expect(await new Adapter('Session').find('nope')).toBeUndefined();
      expect(await new Adapter('Session').findByUid('nope')).toBeUndefined();
      expect(await new Adapter('DeviceCode').findByUserCode('ABCD-EFGX')).toBeUndefined();
    });

    it('finds a session by uid and a device code by user code', async () => {
      await new Adapter('Session').upsert('s1', { jti: 's1', uid: 'u1' }, HOUR);
      await new Adapter('DeviceCode').upsert('d1', { jti: 'd1', userCode: 'ABCD-EFGH' }, HOUR);
      expect(await new Adapter('Session').findByUid('u1')).toEqual({ jti: 's1', uid: 'u1' });
      expect(await new Adapter('DeviceCode').findByUserCode('ABCD-EFGH')).toEqual({ jti: 'd1', userCode: 'ABCD-EFGH' });
    });
  });

  describe('expiry', () => {
    it('never returns a row once expires_at is reached, even before it is swept', async () => {
      await new Adapter('AccessToken').upsert('at1', { jti: 'at1' }, 60);
      await new Adapter('Session').upsert('s1', { uid: 'u1' }, 60);
      await new Adapter('DeviceCode').upsert('d1', { userCode: 'WXYZ' }, 60);

      clock.advance(59_999);
      expect(await new Adapter('AccessToken').find('at1')).toBeDefined();
      expect(await new Adapter('Session').findByUid('u1')).toBeDefined();
      expect(await new Adapter('DeviceCode').findByUserCode('WXYZ')).toBeDefined();

      clock.advance(1); // now === expires_at
      expect(await new Adapter('AccessToken').find('at1')).toBeUndefined();
      expect(await new Adapter('Session').findByUid('u1')).toBeUndefined();
      expect(await new Adapter('DeviceCode').findByUserCode('WXYZ')).toBeUndefined();
      expect(await storedIds()).toHaveLength(3); // hidden by the query, not deleted
    });

    it('keeps rows saved without expiresIn forever', async () => {
      await new Adapter('Client').upsert('client-1', { client_id: 'client-1' });
      clock.advance(10 * 365 * 24 * HOUR * 1000);
      expect(await new Adapter('Client').find('client-1')).toEqual({ client_id: 'client-1' });
    });

    it('treats expiresIn 0 as already expired, not as forever', async () => {
      await new Adapter('ReplayDetection').upsert('r1', { jti: 'r1' }, 0);
      expect(await new Adapter('ReplayDetection').find('r1')).toBeUndefined();
    });
  });

  describe('consume', () => {
    it('marks the row consumed with the epoch second of the first consume', async () => {
      const codes = new Adapter('AuthorizationCode');
      await codes.upsert('c1', { jti: 'c1', grantId: 'g1' }, 60);
      clock.advance(1_500);
      const consumedAt = Math.floor(clock.now() / 1000);
      await codes.consume('c1');
      expect(await codes.find('c1')).toEqual({ jti: 'c1', grantId: 'g1', consumed: consumedAt });

      // A second consume is a reuse: refused with invalid_grant, and the grant's tokens (the code too) go.
      clock.advance(5_000);
      await expect(codes.consume('c1')).rejects.toMatchObject({ error: 'invalid_grant', statusCode: 400 });
      expect(await codes.find('c1')).toBeUndefined();
    });

    it('is not undone by a later upsert of the same id', async () => {
      const tokens = new Adapter('RefreshToken');
      await tokens.upsert('rt1', { jti: 'rt1' }, HOUR);
      await tokens.consume('rt1');
      await tokens.upsert('rt1', { jti: 'rt1', rotations: 1 }, HOUR);
      expect(await tokens.find('rt1')).toEqual({ jti: 'rt1', rotations: 1, consumed: Math.floor(clock.now() / 1000) });
    });

    it('does not consume other rows', async () => {
      const codes = new Adapter('AuthorizationCode');
      await codes.upsert('c1', { jti: 'c1' }, 60);
      await codes.upsert('c2', { jti: 'c2' }, 60);
      await codes.consume('c1');
      expect(await codes.find('c2')).not.toHaveProperty('consumed');
    });
  });

  describe('destroy', () => {
    it('removes the row and nothing else', async () => {
      const tokens = new Adapter('AccessToken');
      await tokens.upsert('at1', { jti: 'at1' }, HOUR);
      await tokens.upsert('at2', { jti: 'at2' }, HOUR);
      await tokens.destroy('at1');
      expect(await tokens.find('at1')).toBeUndefined();
      expect(await storedIds()).toEqual(['AccessToken:at2']);
      await expect(tokens.destroy('never-stored')).resolves.toBeUndefined();
    });
  });

  describe('revokeByGrantId', () => {
    it('removes the grant tokens of every token model and leaves other grants, the Grant row and interactions alone', async () => {
      await new Adapter('AccessToken').upsert('at1', { grantId: 'g1' }, HOUR);
      await new Adapter('RefreshToken').upsert('rt1', { grantId: 'g1' }, HOUR);
      await new Adapter('AuthorizationCode').upsert('c1', { grantId: 'g1' }, 60);
      await new Adapter('DeviceCode').upsert('d1', { grantId: 'g1', userCode: 'AAAA' }, 600);
      await new Adapter('AccessToken').upsert('at2', { grantId: 'g2' }, HOUR);
      await new Adapter('RefreshToken').upsert('rt2', { grantId: 'g2' }, HOUR);
      // The Grant is stored under its own id, which is the grant id; destroying it is revokeGrantPolicy's call.
      await new Adapter('Grant').upsert('g1', { jti: 'g1', accountId: 'a' }, HOUR);
      // An interaction being resumed for another account names the old grant; it must survive the logout.
      await new Adapter('Interaction').upsert('i1', { grantId: 'g1', uid: 'i1' }, HOUR);

      await new Adapter('AccessToken').revokeByGrantId('g1');

      expect(await new Adapter('RefreshToken').find('rt1')).toBeUndefined();
      expect(await new Adapter('DeviceCode').findByUserCode('AAAA')).toBeUndefined();
      expect(await storedIds()).toEqual(['AccessToken:at2', 'Grant:g1', 'Interaction:i1', 'RefreshToken:rt2']);
    });
  });

  describe('model isolation', () => {
    it('keeps the same id in two models apart for find, consume and destroy', async () => {
      const access = new Adapter('AccessToken');
      const refresh = new Adapter('RefreshToken');
      await access.upsert('same', { kind: 'AccessToken' }, HOUR);
      await refresh.upsert('same', { kind: 'RefreshToken' }, HOUR);

      expect(await access.find('same')).toEqual({ kind: 'AccessToken' });
      expect(await refresh.find('same')).toEqual({ kind: 'RefreshToken' });

      await access.consume('same');
      expect(await refresh.find('same')).toEqual({ kind: 'RefreshToken' });

      await access.destroy('same');
      expect(await access.find('same')).toBeUndefined();
      expect(await refresh.find('same')).toEqual({ kind: 'RefreshToken' });
    });

    it('scopes uid and user code lookups to the model', async () => {
      await new Adapter('Session').upsert('s1', { uid: 'u1' }, HOUR);
      await new Adapter('DeviceCode').upsert('d1', { userCode: 'CODE' }, HOUR);
      expect(await new Adapter('Interaction').findByUid('u1')).toBeUndefined();
      expect(await new Adapter('BackchannelAuthenticationRequest').findByUserCode('CODE')).toBeUndefined();
    });
  });

  describe('sweepExpired', () => {
    it('deletes only rows whose expiry has been reached and returns how many', async () => {
      await new Adapter('AccessToken').upsert('earlier', {}, 10);
      await new Adapter('Grant').upsert('boundary', {}, 60);
      await new Adapter('Interaction').upsert('later', {}, 61);
      await new Adapter('Client').upsert('forever', {});
      clock.advance(60_000);

      expect(await sweepExpired(db, clock)).toBe(2);
      expect(await storedIds()).toEqual(['Client:forever', 'Interaction:later']);
      expect(await sweepExpired(db, clock)).toBe(0);
    });

    it('leaves expired sessions to the session sweep, which must send their back-channel logouts', async () => {
      await new Adapter('Session').upsert('ended', {}, 10);
      clock.advance(60_000);
      expect(await sweepExpired(db, clock)).toBe(0);
      expect(await storedIds()).toContain('Session:ended');
    });
  });

  describe('startSweeper', () => {
    beforeEach(() => {
      jest.useFakeTimers(ONLY_INTERVALS);
    });
    afterEach(() => {
      jest.useRealTimers();
    });

    it('sweeps once per interval and stops when told', async () => {
      await new Adapter('AccessToken').upsert('old', {}, 1);
      await new Adapter('Client').upsert('forever', {});
      clock.advance(1_000);
      const onError = jest.fn();
      const sweeper = startSweeper(db, clock, 30, onError);

      jest.advanceTimersByTime(29_999);
      await settle();
      expect(await storedIds()).toEqual(['AccessToken:old', 'Client:forever']);

      jest.advanceTimersByTime(1);
      await waitFor(async () => (await storedIds()).length === 1);
      expect(await storedIds()).toEqual(['Client:forever']);

      sweeper.stop();
      expect(jest.getTimerCount()).toBe(0);
      expect(onError).not.toHaveBeenCalled();
    });
  });
});

describe('startSweeper failures', () => {
  beforeEach(() => {
    jest.useFakeTimers(ONLY_INTERVALS);
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  const unreachable: Database = {
    knex: (() => {
      throw new Error('database unreachable');
    }) as unknown as Knex,
    dialect: 'sqlite',
    close: async () => {},
  };

  it('hands each failure to onError and keeps running, even when onError throws', async () => {
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    const errors: unknown[] = [];
    const sweeper = startSweeper(unreachable, new ManualClock(), 5, (err) => {
      errors.push(err);
      throw new Error('the error handler failed too');
    });
    try {
      jest.advanceTimersByTime(5_000);
      await waitFor(async () => errors.length === 1);
      jest.advanceTimersByTime(5_000);
      await waitFor(async () => errors.length === 2);
      await settle();
      expect(errors).toEqual([new Error('database unreachable'), new Error('database unreachable')]);
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      sweeper.stop();
      process.off('unhandledRejection', unhandled);
    }
  });

  it('refuses an interval that would spin', () => {
    expect(() => startSweeper(unreachable, new ManualClock(), 0, () => {})).toThrow(RangeError);
    expect(() => startSweeper(unreachable, new ManualClock(), Number.NaN, () => {})).toThrow(RangeError);
    expect(jest.getTimerCount()).toBe(0);
  });
});

/** Lets pending promise callbacks and I/O callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Polls a condition that an interval-driven sweep will make true; fails after about two seconds. */
async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('condition not met in time');
}
