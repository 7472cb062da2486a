/**
 * CSRF tokens for our forms (OWASP's HMAC-based synchronizer pattern). A token is an HMAC of the
 * interaction id under a server secret: it is bound to the one interaction whose cookie the browser
 * holds, cannot be forged without the secret, and needs no extra storage. Compared in constant time.
 */
import crypto from 'node:crypto';

export function createCsrf(secret: string) {
  const key = crypto.createHash('sha256').update(`nordlys-csrf\n${secret}`).digest();
  const tokenFor = (bindTo: string): string => crypto.createHmac('sha256', key).update(bindTo).digest('base64url');
  return {
    tokenFor,
    verify(bindTo: string, token: unknown): boolean {
      if (typeof token !== 'string' || token.length === 0) return false;
      const expected = Buffer.from(tokenFor(bindTo));
      const given = Buffer.from(token);
      return given.length === expected.length && crypto.timingSafeEqual(given, expected);
    },
  };
}

export type Csrf = ReturnType<typeof createCsrf>;
