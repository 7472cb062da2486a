/**
 * The ID-porten mock's own keys, drawn when it starts and kept in memory: an RS256 signing key (its kid
 * the RFC 7638 thumbprint), a cookie key and a salt for pairwise subjects. They are never our main
 * provider's: a token of one must not verify with the other's JWKS. A restart draws new ones, as a new
 * upstream would; relying parties read the JWKS again.
 */
import crypto from 'node:crypto';
import type { JWK } from 'jose';

export interface MockKeys {
  signingJwk: JWK;
  cookieKey: string;
  pairwiseSalt: string;
}

export function drawMockKeys(): MockKeys {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  const kid = crypto.createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n })).digest('base64url');
  const random = () => crypto.randomBytes(32).toString('base64url');
  return { signingJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' }, cookieKey: random(), pairwiseSalt: random() };
}
