/**
 * The ID-porten mock's own secrets: an RS256 signing key, a cookie key, a pairwise salt and a CSRF
 * secret, generated once and kept in the store as one JSON value, so every instance on the database
 * (and every restart) signs with the same key and reads the others' cookies. They are never our main
 * provider's: a token of one must not verify with the other's JWKS.
 */
import crypto from 'node:crypto';
import type { JWK } from 'jose';
import type { Clock } from '../../../clock.js';
import type { Database } from '../../../store/db.js';
import { getOrCreateSecret } from '../../../store/secrets.js';

export const MOCK_SECRET_NAME = 'MOCK_IDPORTEN_SECRETS';

export interface MockSecrets {
  signingJwk: JWK;
  cookieKey: string;
  pairwiseSalt: string;
  csrfSecret: string;
}

/** RFC 7638 thumbprint of an RSA key: the kid, stable for the key's lifetime. */
function rsaThumbprint(jwk: JWK): string {
  const canonical = JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n });
  return crypto.createHash('sha256').update(canonical).digest('base64url');
}

function generate(): string {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  const random = () => crypto.randomBytes(32).toString('base64url');
  const secrets: MockSecrets = {
    signingJwk: { ...jwk, kid: rsaThumbprint(jwk), alg: 'RS256', use: 'sig' },
    cookieKey: random(),
    pairwiseSalt: random(),
    csrfSecret: random(),
  };
  return JSON.stringify(secrets);
}

export async function loadMockSecrets(db: Database, clock: Clock): Promise<MockSecrets> {
  const stored = JSON.parse(await getOrCreateSecret(db, clock, MOCK_SECRET_NAME, generate)) as MockSecrets;
  if (stored.signingJwk?.kty !== 'RSA' || !stored.signingJwk.d || !stored.cookieKey || !stored.pairwiseSalt || !stored.csrfSecret) {
    throw new Error(`the stored ${MOCK_SECRET_NAME} is incomplete; delete it to have it generated again`);
  }
  return stored;
}
