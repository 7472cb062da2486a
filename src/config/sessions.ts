/**
 * When a login session ends (DESIGN §6). Rule: SESSION_TTL_SECONDS, the former name of the maximum
 * lifetime, is honoured only while SESSION_MAX_LIFETIME_SECONDS is unset; the sweep runs at least every
 * minute, so a relying party hears of a timeout within one.
 */
import { z } from 'zod';
import { seconds, type EnvOf } from './fields.js';

/** When a login session ends (DESIGN §6): after inactivity, and at the latest after its absolute lifetime. */
export interface SessionSettings {
  /** A session not used for this long ends (Migrationsverket: 30 minutes). */
  idleTimeoutSeconds: number;
  /** A session ends this long after the login, however much it is used. */
  maxLifetimeSeconds: number;
  /** How often ended sessions are looked for and their relying parties sent a back-channel logout. */
  sweepIntervalSeconds: number;
}

export interface SessionConfig {
  sessions: SessionSettings;
}

export const sessionEnv = {
  SESSION_IDLE_TIMEOUT_SECONDS: seconds.default(1800),
  SESSION_MAX_LIFETIME_SECONDS: seconds.optional(),
  /** The former name of SESSION_MAX_LIFETIME_SECONDS, still honoured when the new name is unset. */
  SESSION_TTL_SECONDS: seconds.optional(),
  SESSION_SWEEP_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(60).default(30),
};

export function readSessions(e: EnvOf<typeof sessionEnv>): SessionConfig {
  return {
    sessions: {
      idleTimeoutSeconds: e.SESSION_IDLE_TIMEOUT_SECONDS,
      maxLifetimeSeconds: e.SESSION_MAX_LIFETIME_SECONDS ?? e.SESSION_TTL_SECONDS ?? 12 * 3600,
      sweepIntervalSeconds: e.SESSION_SWEEP_INTERVAL_SECONDS,
    },
  };
}
