/**
 * The provider's client cache on each dialect, with two instances (two pools) on one database: a client
 * is read once and then served from memory; an unknown id is read every time (a client created elsewhere
 * works at once); a lookup where a client authenticates confirms the cache against the change counter, so
 * a client changed or deleted on the other instance, by the CLI or by plain SQL is seen there at once; a
 * write on this instance drops the cache at once; the grace period runs on the clock of each lookup. On
 * PostgreSQL every change notifies the clients channel with its version (awaited, not slept for).
 */
import { ManualClock } from '../support/manual-clock.js';
import { createClientStore } from '../../src/store/clients.js';
import { createClientCache } from '../../src/store/client-cache.js';
import { clientsChannel, currentSchema, readClientsVersion } from '../../src/store/client-versions.js';
import { kekFromHex } from '../../src/store/key-encryption.js';
import type { Database } from '../../src/store/db.js';
import { createTestDatabase, dialects, type TestDatabase } from '../support/databases.js';

const kek = kekFromHex('11'.repeat(32));
const rp = { client_id: 'rp', client_secret: 's'.repeat(40), client_name: 'RP', redirect_uris: ['https://rp.example/cb'] };

describe.each(dialects)('client cache on %s', (dialect) => {
  let db: TestDatabase;
  let twin: Database;
  let reads: number;
  let request: object | undefined;
  const clock = new ManualClock();

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    twin = db.openTwin();
    db.knex.on('query', (q: { sql: string }) => {
      if (/^select/i.test(q.sql) && /clients|change_versions/.test(q.sql)) reads += 1;
    });
  });
  afterAll(async () => {
    await twin.close();
    await db.close();
  });
  beforeEach(async () => {
    await db.knex('clients').del();
    reads = 0;
    request = undefined;
  });

  const cacheOn = (database: Database) => {
    const store = createClientStore(database, clock, kek);
    return { store, cache: createClientCache({ db: database, store, confirmFor: () => request }) };
  };

  test('read once, then from memory; an unknown id is read every time', async () => {
    const { store, cache } = cacheOn(db);
    expect(await cache.providerMetadata('rp')).toBeUndefined();
    await createClientStore(twin, clock, kek).insert(rp);
    expect(await cache.providerMetadata('rp')).toMatchObject({ client_name: 'RP', client_secret: rp.client_secret });
    reads = 0;
    for (let i = 0; i < 5; i += 1) expect(await cache.providerMetadata('rp')).toMatchObject({ client_name: 'RP' });
    expect(await cache.providerMetadata('nobody')).toBeUndefined();
    expect(await cache.providerMetadata('nobody')).toBeUndefined();
    expect(reads).toBe(2);
    // A write through this instance's store is seen by the next lookup.
    await store.update({ client_id: 'rp', client_name: 'Renamed here', redirect_uris: rp.redirect_uris });
    expect(await cache.providerMetadata('rp')).toMatchObject({ client_name: 'Renamed here' });
  });

  test('the metadata with the current secret is opened once per cached client, frozen, and opened again after a change', async () => {
    const { store, cache } = cacheOn(db);
    await store.insert(rp);
    const first = await cache.providerMetadata('rp');
    // The same value at every lookup: not parsed and decrypted again; frozen, because every lookup shares it.
    expect(await cache.providerMetadata('rp')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first!.redirect_uris)).toBe(true);
    expect(() => {
      (first!.redirect_uris as string[]).push('https://evil.example/cb');
    }).toThrow(TypeError);
    // A lookup that reads the table each time (the store itself) opens a new value each time.
    expect(await store.providerMetadata('rp')).not.toBe(await store.providerMetadata('rp'));
    await store.rotateSecret('rp', 'm'.repeat(40), 0);
    const after = await cache.providerMetadata('rp');
    expect(after).not.toBe(first);
    expect(after!.client_secret).toBe('m'.repeat(40));
    expect(first!.client_secret).toBe(rp.client_secret);
  });

  test('where a client authenticates, a change made elsewhere is seen at once; the version is read once per request', async () => {
    const { cache } = cacheOn(db);
    const elsewhere = createClientStore(twin, clock, kek);
    await elsewhere.insert(rp);
    await cache.providerMetadata('rp');
    await elsewhere.rotateSecret('rp', 'n'.repeat(40), 60);
    request = {};
    expect((await cache.providerMetadata('rp'))!.client_secret).toBe('n'.repeat(40));
    // The previous secret, for a request that proves it, until the grace period ends on this clock.
    const provesOld = (previous: string) => previous === rp.client_secret;
    expect((await cache.providerMetadata('rp', provesOld))!.client_secret).toBe(rp.client_secret);
    clock.advance(60_000);
    expect((await cache.providerMetadata('rp', provesOld))!.client_secret).toBe('n'.repeat(40));
    reads = 0;
    await cache.providerMetadata('rp');
    expect(reads).toBe(0);

    // Plain SQL on the other pool (an operator, the CLI of an older version) counts as a change too.
    await twin.knex('clients').where({ client_id: 'rp' }).del();
    request = {};
    expect(await cache.providerMetadata('rp')).toBeUndefined();
  });

  test('requests that confirm at once share a read of the version, and one that starts after a change sees it', async () => {
    const { cache } = cacheOn(db);
    const elsewhere = createClientStore(twin, clock, kek);
    await elsewhere.insert(rp);
    request = {};
    await cache.providerMetadata('rp');
    reads = 0;
    // Ten requests at once: one read goes out for the first, one more is shared by the nine that came meanwhile.
    const requests = Array.from({ length: 10 }, () => ({}));
    const lookups = requests.map((r) => {
      request = r;
      return cache.providerMetadata('rp');
    });
    expect((await Promise.all(lookups)).every((m) => m?.client_secret === rp.client_secret)).toBe(true);
    expect(reads).toBe(2);
    // A change committed, then requests that begin at once: each is confirmed by a read sent after it asked.
    await twin.knex('clients').where({ client_id: 'rp' }).del();
    const after = requests.map(() => {
      request = {};
      return cache.providerMetadata('rp');
    });
    expect(await Promise.all(after)).toEqual(requests.map(() => undefined));
  });

  (dialect === 'postgres' ? test : test.skip)('every change notifies the clients channel with its version', async () => {
    const channel = clientsChannel(await currentSchema(db.knex));
    const heard: string[] = [];
    let next: ((payload: string) => void) | undefined;
    const listener = await db.listen!(channel, (payload) => {
      heard.push(payload);
      next?.(payload);
    }, () => undefined);
    try {
      const notified = () => new Promise<string>((resolve) => (next = resolve));
      const before = await readClientsVersion(db.knex);
      let arrival = notified();
      await createClientStore(twin, clock, kek).insert(rp);
      expect(Number(await arrival)).toBe(before + 1);
      arrival = notified();
      await twin.knex('clients').where({ client_id: 'rp' }).update({ updated_at: 1 });
      expect(Number(await arrival)).toBe(before + 2);
      expect(await readClientsVersion(db.knex)).toBe(before + 2);
      expect(heard).toEqual([String(before + 1), String(before + 2)]);
    } finally {
      await listener.close();
    }
  });
});
