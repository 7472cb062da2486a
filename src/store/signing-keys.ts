/**
 * Signing keys kept in the store. Rules:
 * - RS256 and ES256 keys are generated on first start, once (concurrent starts agree on one set);
 * - a rotated-in key is published at once but signs only from `activates_at` (after RPs refreshed their
 *   JWKS caches); oidc-provider signs with the first key of an algorithm, so the signer goes first;
 * - a superseded key stays published until every token it signed has expired, then it can be purged.
 */
import crypto from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Clock } from '../clock.js';
import type { Database } from './db.js';

export const SIGNING_ALGS = ['RS256', 'ES256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  privateJwk: JWK;
  createdAt: number;
  activatesAt: number;
}

export type KeyState = 'signing' | 'published' | 'retiring' | 'expired';

interface Row {
  kid: string;
  alg: string;
  private_jwk: string;
  created_at: number | string;
  activates_at: number | string;
}

const toKey = (r: Row): SigningKey => ({
  kid: r.kid,
  alg: r.alg as SigningAlg,
  privateJwk: JSON.parse(r.private_jwk) as JWK,
  createdAt: Number(r.created_at),
  activatesAt: Number(r.activates_at),
});

async function generate(alg: SigningAlg, createdAt: number, activatesAt: number): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(privateKey);
  const kid = `${alg.toLowerCase()}-${new Date(createdAt).toISOString().slice(0, 10)}-${crypto.randomBytes(4).toString('hex')}`;
  return { kid, alg, privateJwk: { ...jwk, kid, alg, use: 'sig' }, createdAt, activatesAt };
}

async function insert(db: Database, key: SigningKey): Promise<void> {
  await db.knex('signing_keys').insert({
    kid: key.kid,
    alg: key.alg,
    private_jwk: JSON.stringify(key.privateJwk),
    created_at: key.createdAt,
    activates_at: key.activatesAt,
  });
}

export async function listKeys(db: Database): Promise<SigningKey[]> {
  const rows = await db.knex<Row>('signing_keys').select('*').orderBy('activates_at', 'desc');
  return rows.map(toKey);
}

/** Makes sure each algorithm has a key. First start only: a fresh key signs at once (nobody has tokens yet). */
export async function ensureSigningKeys(db: Database, clock: Clock): Promise<{ created: string[] }> {
  const created: string[] = [];
  for (const alg of SIGNING_ALGS) {
    const now = clock.now();
    await db.knex.transaction(async (trx) => {
      const existing = await trx('signing_keys').where({ alg }).first();
      if (existing) return;
      const key = await generate(alg, now, now);
      await insert({ ...db, knex: trx }, key);
      created.push(key.kid);
    });
  }
  return { created };
}

/** Adds a new key per algorithm that is published now and signs after `publishSeconds`. */
export async function rotateSigningKeys(db: Database, clock: Clock, publishSeconds: number): Promise<SigningKey[]> {
  const now = clock.now();
  const keys = await Promise.all(SIGNING_ALGS.map((alg) => generate(alg, now, now + publishSeconds * 1000)));
  for (const key of keys) await insert(db, key);
  return keys;
}

/**
 * The state of every key at `now`. The signer of an algorithm is its newest active key; an older key
 * keeps being published (`retiring`) for `verifySeconds` after its successor took over.
 */
export function keyStates(keys: SigningKey[], now: number, verifySeconds: number): Map<string, KeyState> {
  const states = new Map<string, KeyState>();
  for (const alg of SIGNING_ALGS) {
    const ofAlg = keys.filter((k) => k.alg === alg).sort((a, b) => b.activatesAt - a.activatesAt);
    let successorActivatedAt: number | undefined;
    let signerFound = false;
    for (const key of ofAlg) {
      if (key.activatesAt > now) {
        states.set(key.kid, 'published');
      } else if (!signerFound) {
        states.set(key.kid, 'signing');
        signerFound = true;
        successorActivatedAt = key.activatesAt;
      } else {
        const retiredAt = successorActivatedAt ?? now;
        states.set(key.kid, retiredAt + verifySeconds * 1000 > now ? 'retiring' : 'expired');
        successorActivatedAt = key.activatesAt;
      }
    }
  }
  return states;
}

/** The private JWKS for oidc-provider: signers first, then keys published for verification only. */
export function providerJwks(keys: SigningKey[], now: number, verifySeconds: number): { keys: JWK[] } {
  const states = keyStates(keys, now, verifySeconds);
  const rank: Record<KeyState, number> = { signing: 0, published: 1, retiring: 2, expired: 3 };
  const live = keys
    .filter((k) => states.get(k.kid) !== 'expired')
    .sort((a, b) => rank[states.get(a.kid)!] - rank[states.get(b.kid)!]);
  return { keys: live.map((k) => k.privateJwk) };
}

/** Deletes keys whose verification window has passed. */
export async function purgeExpiredKeys(db: Database, clock: Clock, verifySeconds: number): Promise<string[]> {
  const states = keyStates(await listKeys(db), clock.now(), verifySeconds);
  const expired = [...states].filter(([, s]) => s === 'expired').map(([kid]) => kid);
  if (expired.length > 0) await db.knex('signing_keys').whereIn('kid', expired).delete();
  return expired;
}
