/**
 * Client secrets at rest: AES-256-GCM under the key-encryption key, in the same envelope as the signing
 * keys (`v1.<kek fingerprint>.<iv>.<ciphertext>.<tag>`). Rules: the client id is authenticated data under a
 * label of its own (a KEK rewrap re-seals them with the signing keys, in one transaction), so a secret copied to another client's row, or into a signing-key row, does not decrypt;
 * a fresh random IV per encryption; a wrong key or an altered value is an error, never a silent fallback.
 */
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { KeyEncryptionError, type Kek } from './key-encryption.js';

const aad = (clientId: string) => Buffer.from(`nordlys-client-secret\n${clientId}`, 'utf8');

export function sealClientSecret(kek: Kek, clientId: string, secret: string): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', kek.key, iv);
  cipher.setAAD(aad(clientId));
  const ct = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return ['v1', kek.fingerprint, iv.toString('base64url'), ct.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

export function openClientSecret(kek: Kek, clientId: string, stored: string): string {
  const parts = stored.split('.');
  if (parts.length !== 5 || parts[0] !== 'v1') throw new KeyEncryptionError(`the secret of client ${clientId} is not stored encrypted`);
  const [, fingerprint, iv, ct, tag] = parts as [string, string, string, string, string];
  if (fingerprint !== kek.fingerprint) {
    throw new KeyEncryptionError(`the secret of client ${clientId} is encrypted under the key-encryption key ${fingerprint}, but KEY_ENCRYPTION_KEY is ${kek.fingerprint}`);
  }
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', kek.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(aad(clientId));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  } catch (cause) {
    throw new KeyEncryptionError(`the secret of client ${clientId} does not decrypt: the stored value was altered`, { cause });
  }
}

/** A new client secret: 256 random bits. */
export function newClientSecret(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/** Re-seals every client secret (current and previous) from one key-encryption key to another, in `trx`. */
export async function rewrapClientSecrets(trx: Knex.Transaction, from: Kek, to: Kek): Promise<number> {
  const rows = (await trx('clients').select('client_id', 'secret', 'previous_secret')) as Array<{ client_id: string; secret: string | null; previous_secret: string | null }>;
  const reseal = (id: string, stored: string | null) => (stored ? sealClientSecret(to, id, openClientSecret(from, id, stored)) : null);
  for (const r of rows) {
    await trx('clients').where({ client_id: r.client_id }).update({ secret: reseal(r.client_id, r.secret), previous_secret: reseal(r.client_id, r.previous_secret) });
  }
  return rows.length;
}
