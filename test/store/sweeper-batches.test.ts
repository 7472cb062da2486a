/**
 * The sweeper deletes in batches (issue 13): never more than BATCH_SIZE (10k) rows per statement, as many
 * statements as the backlog needs, at most maxBatches per run, the rest on the next run. Statements are
 * counted with a knex query listener; the clock is a ManualClock, nothing is timed. Under a constant load
 * the table stays at rate × lifetime (plus one sweep interval).
 */
import { ManualClock } from '../support/manual-clock.js';
import { BATCH_SIZE, startPeriodic, sweepExpired, sweepExpiredPayloads } from '../../src/store/sweeper.js';
import { createTestDatabase, dialects, type TestDatabase } from '../support/databases.js';
import { fillPayloads } from './bulk-rows.js';

const { jest } = import.meta;

describe.each(dialects)('batched sweeps on %s', (dialect) => {
  let db: TestDatabase;
  let clock: ManualClock;
  const deletes: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    db.knex.on('query', (q: { sql: string }) => {
      if (/^delete/i.test(q.sql)) deletes.push(q.sql);
    });
  });
  afterAll(async () => {
    await db.close();
  });
  beforeEach(async () => {
    await db.knex('oidc_payloads').del();
    clock = new ManualClock();
    deletes.length = 0;
  });

  const count = async (where: Record<string, unknown> = {}): Promise<number> => {
    const [row] = (await db.knex('oidc_payloads').where(where).count({ n: '*' })) as Array<{ n: number | string }>;
    return Number(row!.n);
  };

  it('removes a backlog of more than 10k expired rows in several statements of at most 10k each', async () => {
    // 30k rows of every model, all expired; 3k of them are sessions, which are the session sweep's.
    await fillPayloads(db, { count: 30_000, expiresFrom: clock.now() - 40_000 });
    await fillPayloads(db, { count: 1_000, expiresFrom: clock.now(), model: 'Interaction' });
    deletes.length = 0;

    const run = await sweepExpiredPayloads(db, clock);

    expect(run).toEqual({ total: 27_000, rounds: 3, complete: true });
    expect(deletes).toHaveLength(3);
    expect(await count()).toBe(3_000 + 1_000);
    expect(await count({ model: 'Session' })).toBe(3_000);
    expect(await count({ model: 'Interaction' })).toBe(1_000);
    expect(BATCH_SIZE).toBe(10_000);
  });

  it('stops a run at maxBatches and leaves the rest to the next run', async () => {
    await fillPayloads(db, { count: 25_000, expiresFrom: clock.now() - 30_000, model: 'AccessToken' });
    deletes.length = 0;

    expect(await sweepExpiredPayloads(db, clock, { maxBatches: 2 })).toEqual({ total: 20_000, rounds: 2, complete: false });
    expect(await count()).toBe(5_000);
    expect(await sweepExpired(db, clock, { maxBatches: 2 })).toBe(5_000);
    expect(await count()).toBe(0);
    expect(deletes).toHaveLength(3);
  });

  it('an exact multiple of the batch size ends with an empty statement, not a loop', async () => {
    await fillPayloads(db, { count: 2_000, expiresFrom: clock.now() - 3_000, model: 'AccessToken' });
    deletes.length = 0;
    expect(await sweepExpiredPayloads(db, clock, { batchSize: 1_000 })).toEqual({ total: 2_000, rounds: 3, complete: true });
    expect(deletes).toHaveLength(3);
  });

  it('keeps the table at rate × lifetime under a constant load', async () => {
    const RATE = 2_000; // rows per interval
    const INTERVAL = 60_000; // ms between sweeps
    const LIFETIME = 5 * INTERVAL;
    let sizes: number[] = [];
    for (let tick = 0; tick < 12; tick++) {
      await fillPayloads(db, { count: RATE, after: tick * RATE, expiresFrom: clock.now() + LIFETIME, stepMs: 0, model: 'ClientCredentials' });
      clock.advance(INTERVAL);
      // Small batches, so every run needs several statements.
      await sweepExpiredPayloads(db, clock, { batchSize: 500 });
      sizes = [...sizes, await count()];
    }
    // Rows written in the last lifetime survive (expiry exactly at now is swept): rate × lifetime / interval.
    expect(sizes.slice(6)).toEqual(Array(6).fill((RATE * LIFETIME) / INTERVAL - RATE));
    expect(Math.max(...sizes)).toBeLessThanOrEqual((RATE * LIFETIME) / INTERVAL);
  });

  describe('startPeriodic', () => {
    beforeEach(() => {
      jest.useFakeTimers({ doNotFake: ['Date', 'hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout'] });
    });
    afterEach(() => {
      jest.useRealTimers();
    });

    it('never overlaps runs, hands results to onDone and failures (of the task or of onDone) to onError', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let runs = 0;
      const task = jest.fn(async () => {
        runs += 1;
        if (runs === 1) await gate;
        if (runs === 3) throw new Error('task failed');
        return runs;
      });
      const done: number[] = [];
      const errors: unknown[] = [];
      const sweeper = startPeriodic('test sweep', 1, task, (err) => errors.push(err), (n) => {
        done.push(n);
        if (n === 2) throw new Error('onDone failed');
      });
      try {
        jest.advanceTimersByTime(3_000); // three ticks while the first run waits: one run only
        expect(task).toHaveBeenCalledTimes(1);
        release();
        await settle();
        jest.advanceTimersByTime(1_000);
        await settle();
        jest.advanceTimersByTime(1_000);
        await settle();
        expect(task).toHaveBeenCalledTimes(3);
        expect(done).toEqual([1, 2]);
        expect(errors).toEqual([new Error('onDone failed'), new Error('task failed')]);
      } finally {
        sweeper.stop();
      }
      expect(jest.getTimerCount()).toBe(0);
      expect(() => startPeriodic('test sweep', 0, task, () => undefined)).toThrow('test sweep interval must be a positive number of seconds, got 0');
    });
  });
});

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
