/**
 * The decoupled-order store on each dialect: collect claims per interval and lease, which result may
 * replace which, one cancellation, and what counts as abandoned. Concurrent claims on PostgreSQL come
 * from two connection pools.
 */
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { ManualClock } from '../support/manual-clock.js';
import { createDecoupledOrders } from '../../src/store/decoupled-orders.js';
import type { Database } from '../../src/store/db.js';

describe.each(dialects)('decoupled orders on %s', (dialect) => {
  let db: TestDatabase;
  let twin: Database;
  const clock = new ManualClock(Date.UTC(2026, 5, 1));

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    twin = db.openTwin();
  });
  afterAll(async () => {
    await twin.close();
    await db.close();
  });

  const orders = () => createDecoupledOrders(db, clock);
  const fresh = async (uid: string) => {
    await orders().start({ uid, broker: 'bankid-se', orderRef: `ref-${uid}`, payload: { mode: 'qr' }, status: 'pending' }, 600);
    return `ref-${uid}`;
  };

  test('one claim per interval among concurrent callers on two pools; a collect in flight holds the order', async () => {
    const ref = await fresh('claims');
    const both = [createDecoupledOrders(db, clock), createDecoupledOrders(twin, clock)];
    const first = await Promise.all(Array.from({ length: 10 }, (_, i) => both[i % 2]!.claimCollect('claims', ref, 2000, 10_000)));
    expect(first.filter((c) => c !== undefined)).toEqual([clock.now()]);
    clock.advance(2000);
    // The first collect has not answered yet (its lease runs 10 s): nobody else may ask.
    expect(await orders().claimCollect('claims', ref, 2000, 10_000)).toBeUndefined();
    expect(await orders().recordCollect('claims', ref, first.find((c) => c !== undefined)!, 'pending', { hint: 'started' })).toBe(true);
    const second = await Promise.all(Array.from({ length: 10 }, (_, i) => both[i % 2]!.claimCollect('claims', ref, 2000, 10_000)));
    expect(second.filter((c) => c !== undefined)).toHaveLength(1);
    expect((await orders().find('claims'))!.lastResult).toEqual({ hint: 'started' });
  });

  test('an overtaken pending result is dropped; a final one stays; a completion replaces a failure, nothing replaces a cancellation', async () => {
    const ref = await fresh('results');
    const old = (await orders().claimCollect('results', ref, 2000, 1000))!;
    clock.advance(2000);
    const current = (await orders().claimCollect('results', ref, 2000, 1000))!;
    expect(await orders().recordCollect('results', ref, old, 'pending', { hint: 'old' })).toBe(false);
    expect(await orders().recordCollect('results', ref, current, 'failed', { rfa: 'RFA22' })).toBe(true);
    expect(await orders().recordCollect('results', ref, old, 'failed', { rfa: 'RFA3' })).toBe(false);
    expect(await orders().recordCollect('results', ref, old, 'complete', { login: { accountId: 'a' } })).toBe(true);
    expect(await orders().recordCollect('results', ref, current, 'failed', { rfa: 'RFA22' })).toBe(false);
    expect(await orders().find('results')).toMatchObject({ status: 'complete', lastResult: { login: { accountId: 'a' } } });
    expect(await orders().claimCollect('results', ref, 0, 0)).toBeUndefined();

    const other = await fresh('cancelled');
    const claim = (await orders().claimCollect('cancelled', other, 2000, 1000))!;
    const cancels = await Promise.all([createDecoupledOrders(db, clock).claimCancel('cancelled', other), createDecoupledOrders(twin, clock).claimCancel('cancelled', other)]);
    expect(cancels.filter(Boolean)).toHaveLength(1);
    expect(await orders().recordCollect('cancelled', other, claim, 'complete', { login: { accountId: 'b' } })).toBe(false);
    expect((await orders().find('cancelled'))!.status).toBe('cancelled');
  });

  test('a new order of the interaction starts afresh; the old order’s late answer does not touch it', async () => {
    const ref = await fresh('restart');
    const claim = (await orders().claimCollect('restart', ref, 2000, 1000))!;
    await orders().start({ uid: 'restart', broker: 'bankid-se', orderRef: 'ref-new', payload: { mode: 'qr' }, status: 'pending' }, 600);
    expect(await orders().recordCollect('restart', ref, claim, 'failed', { rfa: 'RFA3' })).toBe(false);
    expect(await orders().find('restart')).toMatchObject({ orderRef: 'ref-new', status: 'pending', lastResult: null, lastCollectedAt: 0 });
  });

  test('abandoned: the interaction is gone or the order’s time is up; a live interaction keeps its order', async () => {
    await fresh('kept');
    await db.knex('oidc_payloads').insert({ model: 'Interaction', id: 'kept', payload: '{}', expires_at: clock.now() + 60_000 });
    await fresh('gone');
    const abandoned = (await orders().abandoned(100)).map((o) => o.uid);
    expect(abandoned).toContain('gone');
    expect(abandoned).not.toContain('kept');
    clock.advance(61_000); // the interaction expired
    expect((await orders().abandoned(100)).map((o) => o.uid)).toContain('kept');
    // Past its own time an order is not found for polling, but still for cancelling.
    clock.advance(600_000);
    expect(await orders().find('kept')).toBeUndefined();
    expect(await orders().find('kept', { expiredToo: true })).toMatchObject({ uid: 'kept' });
  });
});
