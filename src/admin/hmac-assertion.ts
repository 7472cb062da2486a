/**
 * client_secret_jwt assertions (RFC 7523, OIDC Core §9): a JWT HMAC'd with the client's secret. Pure.
 * Rules: only the HS algorithms oidc-provider accepts for client authentication; a signature is compared in
 * constant time. Nothing else about the assertion (claims, expiry, jti) is judged here: that stays the
 * provider's.
 */
import crypto from 'node:crypto';

const DIGESTS = new Map([['HS256', 'sha256'], ['HS384', 'sha384'], ['HS512', 'sha512']]);

export interface HmacAssertion {
  /** `header.payload`, exactly as sent. */
  signingInput: string;
  signature: string;
  alg: string;
  /** The client id the assertion names (its `sub`, which oidc-provider authenticates). */
  sub: string;
}

const json = (part: string): Record<string, unknown> | undefined => {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

/** The parts of an HS-signed compact JWT with a string `sub`, or undefined (then it is not ours to handle). */
export function parseHmacAssertion(jwt: string): HmacAssertion | undefined {
  const parts = jwt.split('.');
  if (parts.length !== 3 || !parts.every((p) => /^[\w-]+$/.test(p))) return undefined;
  const [header, payload, signature] = parts as [string, string, string];
  const alg = json(header)?.alg;
  const sub = json(payload)?.sub;
  if (typeof alg !== 'string' || !DIGESTS.has(alg) || typeof sub !== 'string' || !sub) return undefined;
  return { signingInput: `${header}.${payload}`, signature, alg, sub };
}

/** Whether the assertion was HMAC'd with `secret` (oidc-provider uses the secret's UTF-8 bytes as the key). */
export function signedWith(assertion: HmacAssertion, secret: string): boolean {
  const expected = Buffer.from(crypto.createHmac(DIGESTS.get(assertion.alg)!, secret).update(assertion.signingInput).digest('base64url'));
  const given = Buffer.from(assertion.signature);
  return expected.length === given.length && crypto.timingSafeEqual(expected, given);
}

