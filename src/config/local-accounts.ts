/**
 * Self-service e-mail accounts (DESIGN §5): the password preset and blocklist, one-time codes and how
 * often they may be sent, the registration and reset flow's lifetime, the failed-login throttle and
 * account retention. Rule: the throttle's first delay (LOGIN_BASE_DELAY_SECONDS) never exceeds its
 * longest (LOGIN_MAX_DELAY_SECONDS): the longest wins (src/interactions/login-throttle.ts).
 */
import path from 'node:path';
import { z } from 'zod';
import type { EnvOf } from './fields.js';

/** Self-service registration, password reset, password rules, abuse limits and retention (DESIGN §5). */
export interface LocalAccountSettings {
  passwordPolicy: 'udi' | 'nist';
  /** One common password per line; both presets refuse them. */
  passwordBlocklistFile: string;
  codeTtlSeconds: number;
  codeMaxAttempts: number;
  codeResendCooldownSeconds: number;
  codeSendsPerAddressHourly: number;
  codeSendsPerIpHourly: number;
  /** How long a registration or reset may take from the first code to the new password. */
  flowTtlSeconds: number;
  /** Failed logins on one account before delays start (an IP address gets four times as many). */
  loginFreeFailures: number;
  /** The wait after the first failure past the free ones; each further failure doubles it. */
  loginBaseDelaySeconds: number;
  loginMaxDelaySeconds: number;
  /** Accounts of every kind without a login for this long are deleted (a tombstone keeps the sub). */
  retentionDays: number;
}

export interface LocalAccountConfig {
  localAccounts: LocalAccountSettings;
}

export const localAccountEnv = {
  PASSWORD_POLICY: z.enum(['udi', 'nist'], { message: 'must be udi or nist' }).default('udi'),
  PASSWORD_BLOCKLIST_FILE: z.string().min(1).default('./config/common-passwords.txt'),
  CODE_TTL_SECONDS: z.coerce.number().int().min(30).max(3600).default(300),
  CODE_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  CODE_RESEND_COOLDOWN_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
  CODE_SENDS_PER_ADDRESS_HOURLY: z.coerce.number().int().min(1).max(1000).default(5),
  CODE_SENDS_PER_IP_HOURLY: z.coerce.number().int().min(1).max(100000).default(20),
  FLOW_TTL_SECONDS: z.coerce.number().int().min(60).max(24 * 3600).default(1800),
  LOGIN_FREE_FAILURES: z.coerce.number().int().min(1).max(100).default(5),
  LOGIN_BASE_DELAY_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  LOGIN_MAX_DELAY_SECONDS: z.coerce.number().int().min(1).max(24 * 3600).default(900),
  ACCOUNT_RETENTION_DAYS: z.coerce.number().int().min(1).default(730),
};

export function readLocalAccounts(e: EnvOf<typeof localAccountEnv>): LocalAccountConfig {
  return {
    localAccounts: {
      passwordPolicy: e.PASSWORD_POLICY,
      passwordBlocklistFile: path.resolve(e.PASSWORD_BLOCKLIST_FILE),
      codeTtlSeconds: e.CODE_TTL_SECONDS,
      codeMaxAttempts: e.CODE_MAX_ATTEMPTS,
      codeResendCooldownSeconds: e.CODE_RESEND_COOLDOWN_SECONDS,
      codeSendsPerAddressHourly: e.CODE_SENDS_PER_ADDRESS_HOURLY,
      codeSendsPerIpHourly: e.CODE_SENDS_PER_IP_HOURLY,
      flowTtlSeconds: e.FLOW_TTL_SECONDS,
      loginFreeFailures: e.LOGIN_FREE_FAILURES,
      loginBaseDelaySeconds: e.LOGIN_BASE_DELAY_SECONDS,
      loginMaxDelaySeconds: e.LOGIN_MAX_DELAY_SECONDS,
      retentionDays: e.ACCOUNT_RETENTION_DAYS,
    },
  };
}
