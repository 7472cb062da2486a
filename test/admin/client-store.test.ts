/**
 * The clients table on both dialects: the clients file is an import that never undoes API changes unless
 * the file's entry itself changed; two instances importing at once create each client once; secrets are
 * sealed to their row; the previous secret works only inside its grace period (injected clock).
 */
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { ManualClock } from '../support/manual-clock.js';
import { createClientStore } from '../../src/store/clients.js';
import { kekFromHex, KeyEncryptionError } from '../../src/store/key-encryption.js';
import { rewrapKeys } from '../../src/cli/commands.js';

const kek = kekFromHex('11'.repeat(32));
const fileEntry = { client_id: 'rp', client_secret: 's'.repeat(40), client_name: 'From the file', redirect_uris: ['https://rp.example/cb'] };

describe.each(dialects)('client store on %s', (dialect) => {
  let db: TestDatabase;
  const clock = new ManualClock();
  beforeEach(async () => {
    db = await createTestDatabase(dialect);
  });
  afterEach(async () => {
    await db.close();
  });

  test('an unchanged file leaves API changes alone; a changed entry wins', async () => {
    const store = createClientStore(db, clock, kek);
    expect(await store.importClients([fileEntry])).toEqual({ created: ['rp'], updated: [], unchanged: [] });
    await store.update({ client_id: 'rp', client_name: 'Renamed by the API', redirect_uris: ['https://rp.example/cb'] });
    expect(await store.importClients([fileEntry])).toEqual({ created: [], updated: [], unchanged: ['rp'] });
    expect((await store.get('rp'))!.metadata.client_name).toBe('Renamed by the API');
    expect(await store.importClients([{ ...fileEntry, client_name: 'Edited file' }])).toEqual({ created: [], updated: ['rp'], unchanged: [] });
    expect((await store.providerMetadata('rp'))).toMatchObject({ client_name: 'Edited file', client_secret: fileEntry.client_secret });
  });

  test('two instances importing at once create each client once', async () => {
    const twin = db.openTwin();
    try {
      const results = await Promise.all([createClientStore(db, clock, kek).importClients([fileEntry]), createClientStore(twin, clock, kek).importClients([fileEntry])]);
      expect(results.flatMap((r) => r.created)).toEqual(['rp']);
      expect((await createClientStore(db, clock, kek).list()).map((c) => c.metadata.client_id)).toEqual(['rp']);
    } finally {
      await twin.close();
    }
  });

  test('secrets are sealed to their row and the previous one only lasts its grace period', async () => {
    const store = createClientStore(db, clock, kek);
    await store.insert(fileEntry);
    await store.insert({ client_id: 'other', client_secret: 'o'.repeat(40) });
    // A sealed secret copied to another client's row does not open there.
    const sealed = (await db.knex('clients').where({ client_id: 'rp' }).first()) as { secret: string };
    await db.knex('clients').where({ client_id: 'other' }).update({ secret: sealed.secret });
    await expect(store.providerMetadata('other')).rejects.toThrow(KeyEncryptionError);
    await expect(createClientStore(db, clock, kekFromHex('22'.repeat(32))).providerMetadata('rp')).rejects.toThrow(/fingerprint|key-encryption key/);

    await store.rotateSecret('rp', 'n'.repeat(40), 60);
    expect(await store.isPreviousSecret('rp', fileEntry.client_secret)).toBe(true);
    expect(await store.isPreviousSecret('rp', 'n'.repeat(40))).toBe(false);
    expect(await store.isPreviousSecret('other', fileEntry.client_secret)).toBe(false);
    expect((await store.get('rp'))!.previousSecretExpiresAt).toBe(clock.now() + 60_000);
    // The provider's lookup gets the previous secret only for a request that proves it.
    const provesOld = (previous: string) => previous === fileEntry.client_secret;
    expect((await store.providerMetadata('rp', provesOld))!.client_secret).toBe(fileEntry.client_secret);
    expect((await store.providerMetadata('rp', () => false))!.client_secret).toBe('n'.repeat(40));
    clock.advance(60_000);
    expect((await store.providerMetadata('rp', provesOld))!.client_secret).toBe('n'.repeat(40));
    expect(await store.isPreviousSecret('rp', fileEntry.client_secret)).toBe(false);
    expect((await store.get('rp'))!.previousSecretExpiresAt).toBeUndefined();
    expect((await store.providerMetadata('rp'))!.client_secret).toBe('n'.repeat(40));
  });

  test('keys rewrap moves the client secrets to the new key-encryption key with the signing keys', async () => {
    await createClientStore(db, clock, kek).insert(fileEntry);
    await createClientStore(db, clock, kek).rotateSecret('rp', 'n'.repeat(40), 60);
    await rewrapKeys(db, clock, '33'.repeat(32), '11'.repeat(32));
    const moved = createClientStore(db, clock, kekFromHex('33'.repeat(32)));
    expect((await moved.providerMetadata('rp'))!.client_secret).toBe('n'.repeat(40));
    expect(await moved.isPreviousSecret('rp', fileEntry.client_secret)).toBe(true);
    await expect(createClientStore(db, clock, kek).providerMetadata('rp')).rejects.toThrow(KeyEncryptionError);
  });
});
