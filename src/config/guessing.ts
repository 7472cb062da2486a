/** Limits on guessing codes and passwords, and on starting logins (DESIGN §5, §7). */
import { z } from 'zod';
import type { EnvOf } from './fields.js';

/** Limits on guessing codes and passwords, and on starting logins (DESIGN §5, §7). */
export interface GuessingSettings {
  /** Wrong codes one e-mail address may get in 24 hours, over every flow and resend. */
  codeMaxFailuresPerAddress: number;
  /** How long a browser's device cookie (its own login budget for an account) lasts. */
  deviceCookieDays: number;
  /** New interactions (logins started at /auth) per minute from one IP address, and for one client. */
  authNewInteractionsPerIpMinute: number;
  authNewInteractionsPerClientMinute: number;
}

export interface GuessingConfig {
  guessing: GuessingSettings;
}

export const guessingEnv = {
  CODE_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).max(1000).default(10),
  DEVICE_COOKIE_DAYS: z.coerce.number().int().min(1).max(3650).default(365),
  AUTH_NEW_INTERACTIONS_PER_IP_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(120),
  AUTH_NEW_INTERACTIONS_PER_CLIENT_MINUTE: z.coerce.number().int().min(1).max(10_000_000).default(3000),
};

export function readGuessing(e: EnvOf<typeof guessingEnv>): GuessingConfig {
  return {
    guessing: {
      codeMaxFailuresPerAddress: e.CODE_MAX_FAILURES_PER_ADDRESS,
      deviceCookieDays: e.DEVICE_COOKIE_DAYS,
      authNewInteractionsPerIpMinute: e.AUTH_NEW_INTERACTIONS_PER_IP_MINUTE,
      authNewInteractionsPerClientMinute: e.AUTH_NEW_INTERACTIONS_PER_CLIENT_MINUTE,
    },
  };
}
