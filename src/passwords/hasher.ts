/**
 * Password hashing with argon2id at OWASP's recommended parameters (19 MiB, 2 iterations, 1 lane).
 * Rules: passwords longer than MAX_PASSWORD_LENGTH are refused before hashing, so argon2 cannot be used
 * to burn CPU; an unknown account still costs one verify (against a fixed dummy hash) so response
 * time does not reveal whether an account exists; hashes made with older parameters are re-hashed on login.
 */
import argon2 from 'argon2';

export const MAX_PASSWORD_LENGTH = 128;

export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export async function hashPassword(password: string): Promise<string> {
  if (password.length > MAX_PASSWORD_LENGTH) throw new RangeError('password too long');
  return argon2.hash(password, ARGON2_OPTIONS);
}

let dummyHash: Promise<string> | undefined;

export interface VerifyResult {
  ok: boolean;
  /** A fresh hash to store when the stored one used older parameters. */
  rehash?: string;
}

/** Verifies a password against a stored hash, or against a dummy when there is no account. */
export async function verifyPassword(storedHash: string | undefined, password: string): Promise<VerifyResult> {
  if (password.length > MAX_PASSWORD_LENGTH) return { ok: false };
  dummyHash ??= argon2.hash('not a real password', ARGON2_OPTIONS);
  const hash = storedHash ?? (await dummyHash);
  let ok = false;
  try {
    ok = await argon2.verify(hash, password);
  } catch {
    ok = false;
  }
  if (!ok || storedHash === undefined) return { ok: false };
  if (argon2.needsRehash(storedHash, ARGON2_OPTIONS)) return { ok: true, rehash: await argon2.hash(password, ARGON2_OPTIONS) };
  return { ok: true };
}
