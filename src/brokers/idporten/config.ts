/**
 * ID-porten's part of the configuration (README: "Point at the real ID-porten TEST environment"). Rules:
 * - no IDPORTEN_ISSUER: the built-in mock under our issuer when mocks are on, else no ID-porten at all;
 * - production talks to ID-porten over https and with a secret it was given (a generated one would be
 *   refused by the real ID-porten), or with private_key_jwt.
 */
import { z } from 'zod';
import type { SettingsContext } from '../method.js';

export const idportenEnv = {
  IDPORTEN_ISSUER: z.url({ message: 'must be an absolute URL' }).optional(),
  IDPORTEN_CLIENT_ID: z.string().min(1).default('nordlys-dev'),
  IDPORTEN_CLIENT_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  IDPORTEN_AUTH_METHOD: z.enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt']).default('client_secret_basic'),
  IDPORTEN_PRIVATE_KEY: z.string().min(2).optional(),
  IDPORTEN_TIMEOUT_MS: z.coerce.number().int().min(100).max(120000).default(10000),
};

export interface IdportenSettings {
  /** Where ID-porten is: the configured issuer, the built-in mock's, or undefined (no ID-porten). */
  issuer: string | undefined;
  /** True when `issuer` is the built-in mock (IDPORTEN_ISSUER unset, mocks on). */
  usesMock: boolean;
  clientId: string;
  clientSecret: string | undefined;
  authMethod: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  /** A private JWK (JSON) for private_key_jwt. */
  privateKey: string | undefined;
  timeoutMs: number;
}

export const MOCK_PATH = '/mock/idporten';

export function idportenSettings(e: z.infer<z.ZodObject<typeof idportenEnv>>, context: SettingsContext): IdportenSettings {
  const configured = e.IDPORTEN_ISSUER?.replace(/\/$/, '');
  const usesMock = !configured && context.mocksEnabled;
  return {
    issuer: configured ?? (usesMock ? `${context.issuer}${MOCK_PATH}` : undefined),
    usesMock,
    clientId: e.IDPORTEN_CLIENT_ID,
    clientSecret: e.IDPORTEN_CLIENT_SECRET,
    authMethod: e.IDPORTEN_AUTH_METHOD,
    privateKey: e.IDPORTEN_PRIVATE_KEY,
    timeoutMs: e.IDPORTEN_TIMEOUT_MS,
  };
}

export function idportenRefusals(s: IdportenSettings): string[] {
  if (!s.issuer || s.usesMock) return [];
  const found: string[] = [];
  if (!s.issuer.startsWith('https://')) found.push(`IDPORTEN_ISSUER is ${s.issuer}: production talks to ID-porten over https; set IDPORTEN_ISSUER=https://…`);
  if (s.authMethod !== 'private_key_jwt' && !s.clientSecret) {
    found.push('IDPORTEN_CLIENT_SECRET is not set: it would be generated and the real ID-porten would refuse it; set IDPORTEN_CLIENT_SECRET or use IDPORTEN_AUTH_METHOD=private_key_jwt');
  }
  return found;
}
