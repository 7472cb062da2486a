/**
 * The mocks' own CSRF tokens: a token is an HMAC of what the form is bound to (an interaction or an
 * order page) under a key drawn when the mock starts, so it dies with the mock's in-memory state.
 * Checked in constant time on the raw digest.
 */
import crypto from 'node:crypto';

export interface MockCsrf {
  tokenFor(binding: string): string;
  verify(binding: string, token: unknown): boolean;
}

export function createMockCsrf(): MockCsrf {
  const key = crypto.randomBytes(32);
  const digest = (binding: string) => crypto.createHmac('sha256', key).update(binding).digest();
  return {
    tokenFor: (binding) => digest(binding).toString('base64url'),
    verify(binding, token) {
      const given = typeof token === 'string' ? Buffer.from(token, 'base64url') : Buffer.alloc(0);
      const expected = digest(binding);
      return given.length === expected.length && crypto.timingSafeEqual(given, expected);
    },
  };
}
