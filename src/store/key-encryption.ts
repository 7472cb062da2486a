/**
 * Envelope for private signing keys at rest: AES-256-GCM under the key-encryption key (KEK).
 * Rules:
 * - every stored private key is `v1.<kek fingerprint>.<iv>.<ciphertext>.<tag>` (base64url parts);
 * - the key id is authenticated data, so a ciphertext moved to another row does not decrypt;
 * - a fresh random 96-bit IV per encryption (GCM's nonce must never repeat under one key);
 * - a wrong KEK, a tampered value or an unencrypted value is an error naming the fingerprints, never a
 *   silent fallback (a silent one would make start-up generate a second key set).
 */
import crypto from 'node:crypto';

export class KeyEncryptionError extends Error {}

/** The KEK as 32 bytes, with a short fingerprint that names it in errors and in stored values. */
export interface Kek {
  key: Buffer;
  fingerprint: string;
}

export function kekFromHex(hex: string): Kek {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new KeyEncryptionError('a key-encryption key must be 64 hexadecimal characters (32 bytes)');
  const key = Buffer.from(hex, 'hex');
  // A fingerprint of a hash under a fixed label reveals nothing usable about the key itself.
  const fingerprint = crypto.createHash('sha256').update('nordlys-kek-fingerprint\n').update(key).digest('hex').slice(0, 12);
  return { key, fingerprint };
}

const aad = (kid: string) => Buffer.from(`nordlys-signing-key\n${kid}`, 'utf8');

export function isEncrypted(stored: string): boolean {
  return stored.startsWith('v1.');
}

/** The fingerprint of the KEK a stored value was encrypted under (undefined if not encrypted). */
export function fingerprintOf(stored: string): string | undefined {
  return isEncrypted(stored) ? stored.split('.')[1] : undefined;
}

export function encryptPrivateKey(kek: Kek, kid: string, plaintext: string): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', kek.key, iv);
  cipher.setAAD(aad(kid));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', kek.fingerprint, iv.toString('base64url'), ct.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

export function decryptPrivateKey(kek: Kek, kid: string, stored: string): string {
  const parts = stored.split('.');
  if (parts.length !== 5 || parts[0] !== 'v1') throw new KeyEncryptionError(`signing key ${kid} is not stored encrypted`);
  const [, fingerprint, iv, ct, tag] = parts as [string, string, string, string, string];
  if (fingerprint !== kek.fingerprint) {
    throw new KeyEncryptionError(
      `signing key ${kid} is encrypted under the key-encryption key with fingerprint ${fingerprint}, but KEY_ENCRYPTION_KEY has fingerprint ${kek.fingerprint}`,
    );
  }
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', kek.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(aad(kid));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  } catch (cause) {
    throw new KeyEncryptionError(`signing key ${kid} does not decrypt: the stored value was altered`, { cause });
  }
}
