/**
 * Swedish BankID's part of the configuration (README: "BankID's real test environment"). Rules:
 * - no BANKID_BASE_URL: the built-in mock under our issuer when mocks are on, else no BankID at all;
 *   with the mock, "BankID on this device" opens the mock's simulated app, otherwise the real app;
 * - production needs https and the relying-party certificate: BankID requires mutual TLS.
 */
import path from 'node:path';
import { z } from 'zod';
import type { SettingsContext } from '../method.js';

export const bankidEnv = {
  BANKID_BASE_URL: z.url({ message: 'must be an absolute URL' }).optional(),
  BANKID_PFX_FILE: z.string().min(1).optional(),
  BANKID_PASSPHRASE: z.string().optional(),
  BANKID_CA_FILE: z.string().min(1).optional(),
  BANKID_TIMEOUT_MS: z.coerce.number().int().min(100).max(120000).default(10000),
};

export interface BankidSettings {
  /** The RP API v6.0 base URL: configured, the built-in mock's, or undefined (no BankID). */
  baseUrl: string | undefined;
  /** The built-in mock's base (`…/mock/bankid`) when it stands in for BankID. */
  mockUrl: string | undefined;
  /** Where "BankID on this device" starts the app; undefined: the real app's own links. */
  appUrl: string | undefined;
  /** The relying-party certificate (PKCS#12 file) and its passphrase, and BankID's CA (PEM file). */
  pfxFile: string | undefined;
  passphrase: string | undefined;
  caFile: string | undefined;
  timeoutMs: number;
}

export function bankidSettings(e: z.infer<z.ZodObject<typeof bankidEnv>>, context: SettingsContext): BankidSettings {
  const configured = e.BANKID_BASE_URL?.replace(/\/$/, '');
  const mockUrl = !configured && context.mocksEnabled ? `${context.issuer}/mock/bankid` : undefined;
  return {
    baseUrl: configured ?? (mockUrl ? `${mockUrl}/rp/v6.0` : undefined),
    mockUrl,
    appUrl: mockUrl ? `${mockUrl}/app` : undefined,
    pfxFile: e.BANKID_PFX_FILE ? path.resolve(e.BANKID_PFX_FILE) : undefined,
    passphrase: e.BANKID_PASSPHRASE,
    caFile: e.BANKID_CA_FILE ? path.resolve(e.BANKID_CA_FILE) : undefined,
    timeoutMs: e.BANKID_TIMEOUT_MS,
  };
}

export function bankidRefusals(s: BankidSettings): string[] {
  if (!s.baseUrl || s.mockUrl || (s.baseUrl.startsWith('https://') && s.pfxFile)) return [];
  return ['BANKID_BASE_URL needs https and BANKID_PFX_FILE: BankID requires mutual TLS; set both (and BANKID_CA_FILE)'];
}
