/**
 * The upstream eIDs and their mocks: ID-porten (an OpenID provider), Swedish BankID (the RP API v6.0)
 * and whether the built-in mock upstreams are served. Rules: an unset issuer or base URL means the
 * built-in mock when mocks are on, else no such upstream; mocks are on by default only outside
 * production; every upstream's own timeout is shorter than the request deadline, so its failure page
 * is shown rather than "try again shortly".
 */
import path from 'node:path';
import { z } from 'zod';
import { bool, type EnvOf } from './fields.js';

export interface UpstreamConfig {
  mocksEnabled: boolean;
  idporten: {
    /** The upstream issuer; undefined means the built-in mock when mocks are on, else no ID-porten. */
    issuer: string | undefined;
    clientId: string;
    clientSecret: string | undefined;
    authMethod: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
    /** A private JWK (JSON) for private_key_jwt. */
    privateKey: string | undefined;
    timeoutMs: number;
  };
  bankid: {
    /** The RP API v6.0 base URL; undefined means the built-in mock when mocks are on, else no BankID. */
    baseUrl: string | undefined;
    /** The relying-party certificate (PKCS#12 file) and its passphrase, and BankID's CA (PEM file). */
    pfxFile: string | undefined;
    passphrase: string | undefined;
    caFile: string | undefined;
    timeoutMs: number;
  };
}

export const upstreamEnv = {
  MOCKS_ENABLED: bool.optional(),
  IDPORTEN_ISSUER: z.url({ message: 'must be an absolute URL' }).optional(),
  IDPORTEN_CLIENT_ID: z.string().min(1).default('nordlys-dev'),
  IDPORTEN_CLIENT_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  IDPORTEN_AUTH_METHOD: z.enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt']).default('client_secret_basic'),
  IDPORTEN_PRIVATE_KEY: z.string().min(2).optional(),
  BANKID_BASE_URL: z.url({ message: 'must be an absolute URL' }).optional(),
  BANKID_PFX_FILE: z.string().min(1).optional(),
  BANKID_PASSPHRASE: z.string().optional(),
  BANKID_CA_FILE: z.string().min(1).optional(),
  BANKID_TIMEOUT_MS: z.coerce.number().int().min(100).max(120000).default(10000),
  IDPORTEN_TIMEOUT_MS: z.coerce.number().int().min(100).max(120000).default(10000),
};

export function readUpstreams(e: EnvOf<typeof upstreamEnv>, production: boolean): UpstreamConfig {
  return {
    mocksEnabled: e.MOCKS_ENABLED ?? !production,
    idporten: {
      issuer: e.IDPORTEN_ISSUER?.replace(/\/$/, ''),
      clientId: e.IDPORTEN_CLIENT_ID,
      clientSecret: e.IDPORTEN_CLIENT_SECRET,
      authMethod: e.IDPORTEN_AUTH_METHOD,
      privateKey: e.IDPORTEN_PRIVATE_KEY,
      timeoutMs: e.IDPORTEN_TIMEOUT_MS,
    },
    bankid: {
      baseUrl: e.BANKID_BASE_URL?.replace(/\/$/, ''),
      pfxFile: e.BANKID_PFX_FILE ? path.resolve(e.BANKID_PFX_FILE) : undefined,
      passphrase: e.BANKID_PASSPHRASE,
      caFile: e.BANKID_CA_FILE ? path.resolve(e.BANKID_CA_FILE) : undefined,
      timeoutMs: e.BANKID_TIMEOUT_MS,
    },
  };
}

/** An upstream's own timeout must fire first, so its failure page is shown rather than "try again shortly". */
export function upstreamDeadlineProblems(config: UpstreamConfig, requestDeadlineMs: number): string[] {
  const upstreamMs = Math.max(config.idporten.timeoutMs, config.bankid.timeoutMs);
  if (requestDeadlineMs <= upstreamMs) {
    return [`REQUEST_DEADLINE_MS: must be longer than IDPORTEN_TIMEOUT_MS and BANKID_TIMEOUT_MS (${upstreamMs} ms)`];
  }
  return [];
}
