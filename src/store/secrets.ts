/**
 * Instance secrets that development generates once and keeps in the store, so every instance on the
 * same database (and every restart) shares them. Production passes them in through config instead
 * (src/config/ refuses to start without them).
 * Rule: generation is race-free — the first writer wins and everyone reads the stored value back.
 */
import crypto from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Database } from './db.js';
import { kekFromHex, type Kek } from './key-encryption.js';

export async function getOrCreateSecret(db: Database, clock: Clock, name: string, generate: () => string): Promise<string> {
  await db.knex('instance_secrets')
    .insert({ name, value: generate(), created_at: clock.now() })
    .onConflict('name')
    .ignore();
  const row = await db.knex('instance_secrets').where({ name }).first<{ value: string } | undefined>();
  if (!row) throw new Error(`secret ${name} could not be stored`);
  return row.value;
}

export interface ResolvedSecrets {
  cookieKeys: string[];
  dpopNonceSecret: string;
  pairwiseSalt: string;
  /** Which secrets were generated for development rather than configured. */
  generated: string[];
}

/** Configured secrets win; missing ones are generated and stored (only development gets this far). */
export async function resolveSecrets(
  db: Database,
  clock: Clock,
  configured: { cookieKeys?: string[] | undefined; dpopNonceSecret?: string | undefined; pairwiseSalt?: string | undefined },
): Promise<ResolvedSecrets> {
  const generated: string[] = [];
  const random = (bytes: number) => () => crypto.randomBytes(bytes).toString('hex');
  const pick = async (name: string, value: string | undefined, gen: () => string) => {
    if (value) return value;
    generated.push(name);
    return getOrCreateSecret(db, clock, name, gen);
  };
  const cookieKeys = configured.cookieKeys ?? [await pick('COOKIE_KEYS', undefined, random(32))];
  const dpopNonceSecret = await pick('DPOP_NONCE_SECRET', configured.dpopNonceSecret, random(32));
  const pairwiseSalt = await pick('PAIRWISE_SALT', configured.pairwiseSalt, random(32));
  return { cookieKeys, dpopNonceSecret, pairwiseSalt, generated };
}

/** The instance-secret name under which development keeps its generated key-encryption key. */
export const DEV_KEK_SECRET = 'KEY_ENCRYPTION_KEY';

/**
 * The key-encryption key of the signing keys: KEY_ENCRYPTION_KEY when configured (production refuses
 * to start without it), else one generated once and kept in the store for development. A KEK stored
 * beside the keys protects nothing against a database dump; it only keeps one code path for both.
 */
export async function resolveKeyEncryptionKey(
  db: Database,
  clock: Clock,
  configured: string | undefined,
): Promise<{ kek: Kek; generated: boolean }> {
  if (configured) return { kek: kekFromHex(configured), generated: false };
  const hex = await getOrCreateSecret(db, clock, DEV_KEK_SECRET, () => crypto.randomBytes(32).toString('hex'));
  return { kek: kekFromHex(hex), generated: true };
}
