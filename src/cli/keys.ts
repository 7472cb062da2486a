/**
 * The signing-key commands as plain functions over the store (src/cli/index.ts prints). Rules: every
 * command reads the keys under the key-encryption key the server uses (KEY_ENCRYPTION_KEY, or the
 * development one kept in the store); a new KEK is read from standard input, never from an argument;
 * rewrapping (signing keys and client secrets) is all or nothing (one transaction).
 */
import crypto from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Database } from '../store/db.js';
import { DEV_KEK_SECRET, resolveKeyEncryptionKey } from '../store/secrets.js';
import { kekFromHex } from '../store/key-encryption.js';
import { rewrapClientSecrets } from '../store/client-secret-box.js';
import {
  encryptLegacySigningKeys,
  keyStates,
  listKeys,
  purgeExpiredKeys as purgeStoredKeys,
  revokeSigningKey,
  rewrapSigningKeys,
  rotateSigningKeys,
  type KeyState,
} from '../store/signing-keys.js';

/** The KEK in use, with any legacy plaintext key encrypted first (so every command sees one format). */
async function keyring(db: Database, clock: Clock, configuredKek: string | undefined) {
  const resolved = await resolveKeyEncryptionKey(db, clock, configuredKek);
  await encryptLegacySigningKeys(db, resolved.kek);
  return resolved;
}

export async function describeKeys(db: Database, clock: Clock, verifySeconds: number, configuredKek?: string) {
  const { kek } = await keyring(db, clock, configuredKek);
  const keys = await listKeys(db, kek);
  const states = keyStates(keys, clock.now(), verifySeconds);
  return keys.map((k) => ({
    kid: k.kid,
    alg: k.alg,
    state: states.get(k.kid) as KeyState,
    created: new Date(k.createdAt).toISOString(),
    signsFrom: new Date(k.activatesAt).toISOString(),
  }));
}

export async function rotateKeys(db: Database, clock: Clock, publishSeconds: number, configuredKek?: string) {
  const { kek } = await keyring(db, clock, configuredKek);
  return rotateSigningKeys(db, clock, publishSeconds, kek);
}

export async function purgeExpiredKeys(db: Database, clock: Clock, verifySeconds: number, configuredKek?: string) {
  const { kek } = await keyring(db, clock, configuredKek);
  return purgeStoredKeys(db, clock, verifySeconds, kek);
}

export async function revokeKey(db: Database, clock: Clock, kid: string, verifySeconds: number, configuredKek?: string) {
  const { kek } = await keyring(db, clock, configuredKek);
  return revokeSigningKey(db, clock, kid, verifySeconds, kek);
}

/**
 * Re-encrypts every private key under a new KEK (`newKekHex`, or a generated one). In development, where
 * the KEK lives in the store, the stored one is replaced in the same transaction; with KEY_ENCRYPTION_KEY
 * configured, the operator must set the new value on every instance next.
 */
export async function rewrapKeys(db: Database, clock: Clock, newKekHex: string | undefined, configuredKek?: string) {
  const { kek: from, generated } = await keyring(db, clock, configuredKek);
  const hex = newKekHex?.trim() || crypto.randomBytes(32).toString('hex');
  const to = kekFromHex(hex);
  const kids = await rewrapSigningKeys(db, from, to, async (trx) => {
    // Client secrets are sealed under the same KEK: they move with the signing keys, all or nothing.
    await rewrapClientSecrets(trx, from, to);
    if (generated) await trx('instance_secrets').where({ name: DEV_KEK_SECRET }).update({ value: hex });
  });
  return { kids, from: from.fingerprint, to: to.fingerprint, storedInDatabase: generated, generatedKek: newKekHex?.trim() ? undefined : hex };
}
