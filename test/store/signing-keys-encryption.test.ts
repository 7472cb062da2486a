/**
 * Private signing keys at rest: AES-256-GCM under the key-encryption key. Proven on both dialects:
 * no private key material is stored readable; the wrong KEK, a tampered value, a value moved to another
 * row and an unmarked plaintext row are all refused; plaintext keys from before migration 004 are
 * encrypted at start-up without losing a key; `keys rewrap` moves every key to a new KEK in one go;
 * development generates one KEK and keeps it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { exportJWK, generateKeyPair } from 'jose';
import { openDatabase, type Database } from '../../src/store/db.js';
import { migrateLatest } from '../../src/store/migrate.js';
import { migrations } from '../../migrations/index.js';
import { createTestDatabase, dialects, postgresUrl, type TestDatabase } from '../support/databases.js';
import { ManualClock } from '../support/manual-clock.js';
import { ensureSigningKeys, listKeys } from '../../src/store/signing-keys.js';
import { kekFromHex, KeyEncryptionError } from '../../src/store/key-encryption.js';
import { resolveKeyEncryptionKey } from '../../src/store/secrets.js';
import { describeKeys, rewrapKeys, rotateKeys } from '../../src/cli/commands.js';

const KEK_HEX = 'a1'.repeat(32);
const OTHER_HEX = 'b2'.repeat(32);
const kek = kekFromHex(KEK_HEX);

interface Row {
  kid: string;
  alg: string;
  private_jwk: string;
}

/** A database with only the migrations before 004 applied (as an existing development database is). */
async function databaseBefore004(dialect: 'sqlite' | 'postgres'): Promise<{ db: Database; drop(): Promise<void> }> {
  let db: Database;
  let drop: () => Promise<void>;
  if (dialect === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nordlys-kek-'));
    db = openDatabase({ sqliteFile: path.join(dir, 'nordlys.sqlite') });
    drop = async () => fs.rmSync(dir, { recursive: true, force: true });
  } else {
    const schema = `t_${crypto.randomBytes(6).toString('hex')}`;
    const admin = knexFactory({ client: 'pg', connection: postgresUrl! });
    await admin.raw(`create schema "${schema}"`);
    await admin.destroy();
    db = openDatabase({ databaseUrl: postgresUrl, schema, poolMax: 3 });
    drop = async () => {
      const cleanup = knexFactory({ client: 'pg', connection: postgresUrl! });
      await cleanup.raw(`drop schema "${schema}" cascade`);
      await cleanup.destroy();
    };
  }
  const before = migrations.filter((m) => m.name < '004');
  await db.knex.migrate.latest({
    migrationSource: { getMigrations: async () => before, getMigrationName: (m: (typeof before)[number]) => m.name, getMigration: async (m: (typeof before)[number]) => m },
  });
  return { db, drop };
}

describe.each(dialects)('signing keys at rest on %s', (dialect) => {
  let db: TestDatabase;
  const clock = new ManualClock(Date.UTC(2026, 11, 1));

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await db.close();
  });

  const rows = () => db.knex<Row>('signing_keys').select('kid', 'alg', 'private_jwk');

  test('stored encrypted: no private part is readable, and the KEK reads them back', async () => {
    const { created } = await ensureSigningKeys(db, clock, kek);
    expect(created).toHaveLength(2);
    await rotateKeys(db, clock, 60, KEK_HEX);
    for (const row of await rows()) {
      expect(row.private_jwk).toMatch(new RegExp(`^v1\\.${kek.fingerprint}\\.`));
      expect(row.private_jwk).not.toMatch(/"d"|"kty"|"p"/);
    }
    const keys = await listKeys(db, kek);
    expect(keys).toHaveLength(4);
    for (const k of keys) expect(k.privateJwk).toMatchObject({ kid: k.kid, d: expect.any(String) });
  });

  test('the wrong KEK is refused with both fingerprints named, never a second key set', async () => {
    const other = kekFromHex(OTHER_HEX);
    await expect(listKeys(db, other)).rejects.toThrow(new RegExp(`fingerprint ${kek.fingerprint}.*fingerprint ${other.fingerprint}`));
    const before = (await rows()).length;
    await expect(ensureSigningKeys(db, clock, other)).rejects.toThrow(KeyEncryptionError);
    expect((await rows()).length).toBe(before);
  });

  test('a tampered value, a value moved to another row and an unmarked plaintext row are refused', async () => {
    const [first, second] = (await rows()) as [Row, Row];
    const restore = async () => {
      await db.knex('signing_keys').where({ kid: first.kid }).update({ private_jwk: first.private_jwk });
      await db.knex('signing_keys').where({ kid: second.kid }).update({ private_jwk: second.private_jwk });
    };
    const parts = first.private_jwk.split('.');
    const flipped = Buffer.from(parts[3]!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    parts[3] = flipped.toString('base64url');
    await db.knex('signing_keys').where({ kid: first.kid }).update({ private_jwk: parts.join('.') });
    await expect(listKeys(db, kek)).rejects.toThrow(/was altered/);
    await db.knex('signing_keys').where({ kid: first.kid }).update({ private_jwk: second.private_jwk });
    await expect(listKeys(db, kek)).rejects.toThrow(/was altered/);
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    await db.knex('signing_keys').where({ kid: first.kid }).update({ private_jwk: JSON.stringify(await exportJWK(privateKey)) });
    await expect(listKeys(db, kek)).rejects.toThrow(/is not stored encrypted/);
    await expect(ensureSigningKeys(db, clock, kek)).rejects.toThrow(/is not stored encrypted/);
    await restore();
    await expect(listKeys(db, kek)).resolves.toHaveLength(4);
  });

  test('keys rewrap: every key under the new KEK in one transaction; the old one no longer reads them', async () => {
    const kids = (await listKeys(db, kek)).map((k) => k.kid).sort();
    const result = await rewrapKeys(db, clock, OTHER_HEX, KEK_HEX);
    expect(result).toMatchObject({ from: kek.fingerprint, to: kekFromHex(OTHER_HEX).fingerprint, storedInDatabase: false });
    expect(result.generatedKek).toBeUndefined();
    expect(result.kids.sort()).toEqual(kids);
    expect((await listKeys(db, kekFromHex(OTHER_HEX))).map((k) => k.kid).sort()).toEqual(kids);
    await expect(listKeys(db, kek)).rejects.toThrow(KeyEncryptionError);
    // All or nothing: a row that does not decrypt stops the whole rewrap, nothing changes.
    const snapshot = await rows();
    await expect(rewrapKeys(db, clock, KEK_HEX, KEK_HEX)).rejects.toThrow(KeyEncryptionError);
    expect(await rows()).toEqual(snapshot);
    // Back, with a generated new KEK that is shown once.
    const back = await rewrapKeys(db, clock, undefined, OTHER_HEX);
    expect(back.generatedKek).toMatch(/^[0-9a-f]{64}$/);
    expect(await listKeys(db, kekFromHex(back.generatedKek!))).toHaveLength(4);
  });

  test('development: one KEK is generated, kept, and replaced by rewrap in the same transaction', async () => {
    const first = await resolveKeyEncryptionKey(db, clock, undefined);
    const again = await resolveKeyEncryptionKey(db, clock, undefined);
    expect(first.generated).toBe(true);
    expect(again.kek.fingerprint).toBe(first.kek.fingerprint);
    const fresh = await createTestDatabase(dialect);
    try {
      await ensureSigningKeys(fresh, clock, (await resolveKeyEncryptionKey(fresh, clock, undefined)).kek);
      const moved = await rewrapKeys(fresh, clock, undefined, undefined);
      expect(moved.storedInDatabase).toBe(true);
      const now = await resolveKeyEncryptionKey(fresh, clock, undefined);
      expect(now.kek.fingerprint).toBe(moved.to);
      expect(await describeKeys(fresh, clock, 600)).toHaveLength(2);
    } finally {
      await fresh.close();
    }
  });

  test('an existing plaintext key set is encrypted at start-up: same kids, same key material, no new key', async () => {
    const old = await databaseBefore004(dialect);
    try {
      const plain = [];
      for (const alg of ['RS256', 'ES256'] as const) {
        const { privateKey } = await generateKeyPair(alg, { extractable: true });
        const kid = `${alg.toLowerCase()}-legacy`;
        const jwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
        plain.push(jwk);
        await old.db.knex('signing_keys').insert({ kid, alg, private_jwk: JSON.stringify(jwk), created_at: clock.now(), activates_at: clock.now() });
      }
      expect(await migrateLatest(old.db)).toContain('004_signing_key_protection');
      const result = await ensureSigningKeys(old.db, clock, kek);
      expect(result.created).toEqual([]);
      expect(result.encrypted.sort()).toEqual(['es256-legacy', 'rs256-legacy']);
      for (const row of await old.db.knex<Row>('signing_keys').select('*')) expect(row.private_jwk.startsWith('v1.')).toBe(true);
      const keys = await listKeys(old.db, kek);
      expect(keys.map((k) => k.privateJwk).sort((a, b) => String(a.kid).localeCompare(String(b.kid)))).toEqual(
        plain.sort((a, b) => a.kid.localeCompare(b.kid)),
      );
      // A second start has nothing left to encrypt.
      expect((await ensureSigningKeys(old.db, clock, kek)).encrypted).toEqual([]);
    } finally {
      await old.db.close();
      await old.drop();
    }
  });
});
