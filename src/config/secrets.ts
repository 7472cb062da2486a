/**
 * The instance secrets. Rule: each may be left unset only outside production, where it is generated
 * once and kept in the store (src/store/secrets.ts); production refuses to start without them
 * (productionRefusals in index.ts).
 */
import { z } from 'zod';
import { hex32, type EnvOf } from './fields.js';

export interface SecretsConfig {
  /** Secrets that development may generate and keep in the store; production must provide them. */
  secrets: {
    cookieKeys: string[] | undefined;
    dpopNonceSecret: string | undefined;
    pairwiseSalt: string | undefined;
    /** Key of the HMACs that stand in for one-time codes in the store. */
    codeHmacSecret: string | undefined;
  };
}

export const secretsEnv = {
  COOKIE_KEYS: z
    .string()
    .transform((s) => s.split(',').map((k) => k.trim()).filter(Boolean))
    .pipe(z.array(z.string().min(32, 'each cookie key must be at least 32 characters')).min(1))
    .optional(),
  DPOP_NONCE_SECRET: hex32.optional(),
  PAIRWISE_SALT: z.string().min(32, 'must be at least 32 characters').optional(),
  CODE_HMAC_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
};

export function readSecrets(e: EnvOf<typeof secretsEnv>): SecretsConfig {
  return { secrets: { cookieKeys: e.COOKIE_KEYS, dpopNonceSecret: e.DPOP_NONCE_SECRET, pairwiseSalt: e.PAIRWISE_SALT, codeHmacSecret: e.CODE_HMAC_SECRET } };
}
