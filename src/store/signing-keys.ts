/**
 * Signing keys kept in the store. Rules:
 * - RS256 and ES256 keys are generated on first start, once: the check and the insert run under one
 *   lock on the key set (a PostgreSQL transaction advisory lock keyed by the schema, SQLite's write
 *   lock), so instances that start together on an empty database agree on one key set, and deployments
 *   in other schemas of the same server do not wait for it;
 * - private keys are stored encrypted under the key-encryption key (key-encryption.ts); rows marked as
 *   legacy plaintext by migration 004 are encrypted at start-up, any other plaintext row is refused;
 * - a rotated-in key is published at once but signs only from `activates_at` (after RPs refreshed their
 *   JWKS caches); oidc-provider signs with the first key of an algorithm, so the signer goes first;
 * - a superseded key stays published until every token it signed has expired, then it can be purged;
 * - a revoked key is neither published nor used at once; if it was signing, a fresh key takes over now.
 */
import crypto from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Knex } from 'knex';
import type { Clock } from '../clock.js';
import type { Database } from './db.js';
import { decryptPrivateKey, encryptPrivateKey, type Kek } from './key-encryption.js';
import { LEGACY_PLAINTEXT_MARK } from '../../migrations/004_signing_key_protection.js';

export const SIGNING_ALGS = ['RS256', 'ES256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  privateJwk: JWK;
  createdAt: number;
  activatesAt: number;
  revokedAt?: number;
}

export type KeyState = 'signing' | 'published' | 'retiring' | 'expired' | 'revoked';

interface Row {
  kid: string;
  alg: string;
  private_jwk: string;
  created_at: number | string;
  activates_at: number | string;
  revoked_at: number | string | null;
}

export class UnknownKeyError extends Error {}

/** An arbitrary constant naming "the signing key set" among PostgreSQL advisory locks (the first key; the schema's hash is the second). */
const KEY_SET_LOCK = 477_102_062;

/** Serialises writers of the key set until `trx` ends. */
async function lockKeySet(trx: Knex.Transaction, dialect: Database['dialect']): Promise<void> {
  if (dialect === 'postgres') await trx.raw('select pg_advisory_xact_lock(?, hashtext(current_schema()))', [KEY_SET_LOCK]);
  // SQLite: a write statement takes the database write lock (other writers wait on busy_timeout).
  else await trx('signing_keys').where('kid', '').update({ kid: '' });
}

const toKey = (kek: Kek, r: Row): SigningKey => ({
  kid: r.kid,
  alg: r.alg as SigningAlg,
  privateJwk: JSON.parse(decryptPrivateKey(kek, r.kid, r.private_jwk)) as JWK,
  createdAt: Number(r.created_at),
  activatesAt: Number(r.activates_at),
  ...(r.revoked_at === null || r.revoked_at === undefined ? {} : { revokedAt: Number(r.revoked_at) }),
});

async function generate(alg: SigningAlg, createdAt: number, activatesAt: number): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(privateKey);
  const kid = `${alg.toLowerCase()}-${new Date(createdAt).toISOString().slice(0, 10)}-${crypto.randomBytes(4).toString('hex')}`;
  return { kid, alg, privateJwk: { ...jwk, kid, alg, use: 'sig' }, createdAt, activatesAt };
}

async function insert(knex: Knex, kek: Kek, key: SigningKey): Promise<void> {
  await knex('signing_keys').insert({
    kid: key.kid,
    alg: key.alg,
    private_jwk: encryptPrivateKey(kek, key.kid, JSON.stringify(key.privateJwk)),
    created_at: key.createdAt,
    activates_at: key.activatesAt,
  });
}

async function readKeys(knex: Knex, kek: Kek): Promise<SigningKey[]> {
  const rows = await knex<Row>('signing_keys').select('*').orderBy('activates_at', 'desc');
  return rows.map((r) => toKey(kek, r));
}

/** Every key, decrypted. Throws KeyEncryptionError when a key is not readable under `kek`. */
export async function listKeys(db: Database, kek: Kek): Promise<SigningKey[]> {
  return readKeys(db.knex, kek);
}

/** Encrypts the rows migration 004 marked as legacy plaintext. Call inside the key-set lock. */
async function encryptLegacyRows(trx: Knex.Transaction, kek: Kek): Promise<string[]> {
  const legacy = await trx<Row>('signing_keys').where('private_jwk', 'like', `${LEGACY_PLAINTEXT_MARK}%`).select('kid', 'private_jwk');
  for (const row of legacy) {
    const plaintext = row.private_jwk.slice(LEGACY_PLAINTEXT_MARK.length);
    await trx('signing_keys').where({ kid: row.kid }).update({ private_jwk: encryptPrivateKey(kek, row.kid, plaintext) });
  }
  return legacy.map((r) => r.kid);
}

/** Encrypts the legacy plaintext rows (if any) under `kek`; the operator CLI runs this before its key commands. */
export async function encryptLegacySigningKeys(db: Database, kek: Kek): Promise<string[]> {
  return db.knex.transaction(async (trx) => {
    await lockKeySet(trx, db.dialect);
    return encryptLegacyRows(trx, kek);
  });
}

/**
 * Start-up: encrypts legacy plaintext keys, and makes sure each algorithm has a signing key.
 * A fresh key signs at once (nobody holds tokens signed by this algorithm's keys yet).
 */
export async function ensureSigningKeys(db: Database, clock: Clock, kek: Kek): Promise<{ created: string[]; encrypted: string[] }> {
  return db.knex.transaction(async (trx) => {
    await lockKeySet(trx, db.dialect);
    const encrypted = await encryptLegacyRows(trx, kek);
    const keys = await readKeys(trx, kek);
    const created: string[] = [];
    const now = clock.now();
    const states = keyStates(keys, now, 0);
    for (const alg of SIGNING_ALGS) {
      if (keys.some((k) => k.alg === alg && states.get(k.kid) === 'signing')) continue;
      const key = await generate(alg, now, now);
      await insert(trx, kek, key);
      created.push(key.kid);
    }
    return { created, encrypted };
  });
}

/** Adds a new key per algorithm that is published now and signs after `publishSeconds`. */
export async function rotateSigningKeys(db: Database, clock: Clock, publishSeconds: number, kek: Kek): Promise<SigningKey[]> {
  const now = clock.now();
  const keys = await Promise.all(SIGNING_ALGS.map((alg) => generate(alg, now, now + publishSeconds * 1000)));
  await db.knex.transaction(async (trx) => {
    await lockKeySet(trx, db.dialect);
    for (const key of keys) await insert(trx, kek, key);
  });
  return keys;
}

/**
 * Revokes a key: from now on it is not published and does not sign. When it was its algorithm's signer
 * a fresh key is generated that signs at once (publishing first would keep signing with a revoked key).
 */
export async function revokeSigningKey(
  db: Database,
  clock: Clock,
  kid: string,
  verifySeconds: number,
  kek: Kek,
): Promise<{ revoked: SigningKey; replacement?: SigningKey }> {
  return db.knex.transaction(async (trx) => {
    await lockKeySet(trx, db.dialect);
    const keys = await readKeys(trx, kek);
    const key = keys.find((k) => k.kid === kid);
    if (!key) throw new UnknownKeyError(`no signing key ${kid} (see keys list)`);
    const now = clock.now();
    const wasSigning = keyStates(keys, now, verifySeconds).get(kid) === 'signing';
    if (key.revokedAt === undefined) await trx('signing_keys').where({ kid }).update({ revoked_at: now });
    const revoked = { ...key, revokedAt: key.revokedAt ?? now };
    if (!wasSigning) return { revoked };
    const replacement = await generate(key.alg, now, now);
    await insert(trx, kek, replacement);
    return { revoked, replacement };
  });
}

/** Re-encrypts every private key from `from` to `to` in one transaction; returns the kids rewrapped. */
export async function rewrapSigningKeys(db: Database, from: Kek, to: Kek, alsoInTransaction?: (trx: Knex.Transaction) => Promise<void>): Promise<string[]> {
  return db.knex.transaction(async (trx) => {
    await lockKeySet(trx, db.dialect);
    await encryptLegacyRows(trx, from);
    const keys = await readKeys(trx, from);
    for (const key of keys) {
      await trx('signing_keys').where({ kid: key.kid }).update({ private_jwk: encryptPrivateKey(to, key.kid, JSON.stringify(key.privateJwk)) });
    }
    if (alsoInTransaction) await alsoInTransaction(trx);
    return keys.map((k) => k.kid);
  });
}

/**
 * The state of every key at `now`. The signer of an algorithm is its newest active key; an older key
 * keeps being published (`retiring`) for `verifySeconds` after its successor took over. A revoked key
 * keeps its place in that timeline (so older keys retire on schedule) but is never published.
 */
export function keyStates(keys: SigningKey[], now: number, verifySeconds: number): Map<string, KeyState> {
  const states = new Map<string, KeyState>();
  for (const alg of SIGNING_ALGS) {
    // Newest activation first; on a tie an unrevoked key before a revoked one (a replacement made in the
    // same millisecond must sign), then the newer key.
    const ofAlg = keys
      .filter((k) => k.alg === alg)
      .sort((a, b) => b.activatesAt - a.activatesAt || Number(a.revokedAt !== undefined) - Number(b.revokedAt !== undefined) || b.createdAt - a.createdAt);
    let successorActivatedAt: number | undefined;
    let signerFound = false;
    for (const key of ofAlg) {
      let state: KeyState;
      if (key.activatesAt > now) {
        state = 'published';
      } else if (!signerFound) {
        state = 'signing';
        signerFound = true;
        successorActivatedAt = key.activatesAt;
      } else {
        const retiredAt = successorActivatedAt ?? now;
        state = retiredAt + verifySeconds * 1000 > now ? 'retiring' : 'expired';
        successorActivatedAt = key.activatesAt;
      }
      states.set(key.kid, key.revokedAt === undefined ? state : 'revoked');
    }
  }
  return states;
}

/** The private JWKS for oidc-provider: signers first, then keys published for verification only. */
export function providerJwks(keys: SigningKey[], now: number, verifySeconds: number): { keys: JWK[] } {
  const states = keyStates(keys, now, verifySeconds);
  const rank: Record<KeyState, number> = { signing: 0, published: 1, retiring: 2, expired: 3, revoked: 4 };
  const live = keys
    .filter((k) => states.get(k.kid) !== 'expired' && states.get(k.kid) !== 'revoked')
    .sort((a, b) => rank[states.get(a.kid)!] - rank[states.get(b.kid)!]);
  return { keys: live.map((k) => k.privateJwk) };
}

/** Deletes keys whose verification window has passed, and revoked keys. */
export async function purgeExpiredKeys(db: Database, clock: Clock, verifySeconds: number, kek: Kek): Promise<string[]> {
  const states = keyStates(await listKeys(db, kek), clock.now(), verifySeconds);
  const gone = [...states].filter(([, s]) => s === 'expired' || s === 'revoked').map(([kid]) => kid);
  if (gone.length > 0) await db.knex('signing_keys').whereIn('kid', gone).delete();
  return gone;
}
