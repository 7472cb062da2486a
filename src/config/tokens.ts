/**
 * Lifetimes of what the provider issues and keeps (DESIGN §6, §8): interactions and the record that
 * lets an expired one start again, authorization codes, access, id and refresh tokens, and the signing
 * keys' publication and refresh. Rules: a public client's refresh tokens are rotated and live at most
 * PUBLIC_CLIENT_REFRESH_TOKEN_TTL_SECONDS (RFC 9700 advises short chains); "Start again" outlives the
 * interaction it restarts (checked in index.ts).
 */
import { z } from 'zod';
import { seconds, type EnvOf } from './fields.js';

export interface TokenLifetimes {
  interactionSeconds: number;
  /** How long an expired login can still be started again with the same request ("Start again"). */
  interactionRestartSeconds: number;
  /** How long an authorization code may wait to be redeemed. */
  authorizationCodeSeconds: number;
  accessTokenSeconds: number;
  idTokenSeconds: number;
  refreshTokenSeconds: number;
  /** The cap on a public client's (rotated) refresh tokens; confidential clients get refreshTokenSeconds. */
  publicClientRefreshTokenSeconds: number;
}

export interface TokenConfig {
  ttl: TokenLifetimes;
  keys: {
    /** How long a new signing key is published before it signs (RPs refresh their JWKS caches). */
    publishSeconds: number;
    /** How often a running instance re-reads the key set, so rotation needs no restart. */
    refreshSeconds: number;
  };
}

export const tokenEnv = {
  INTERACTION_TTL_SECONDS: seconds.default(3600),
  INTERACTION_RESTART_TTL_SECONDS: z.coerce.number().int().min(60).max(30 * 24 * 3600).default(24 * 3600),
  AUTHORIZATION_CODE_TTL_SECONDS: z.coerce.number().int().min(10).max(600).default(60),
  ACCESS_TOKEN_TTL_SECONDS: seconds.default(3600),
  ID_TOKEN_TTL_SECONDS: seconds.default(3600),
  REFRESH_TOKEN_TTL_SECONDS: seconds.default(14 * 24 * 3600),
  PUBLIC_CLIENT_REFRESH_TOKEN_TTL_SECONDS: seconds.default(24 * 3600),
  KEY_PUBLISH_SECONDS: z.coerce.number().int().min(0).default(3600),
  KEY_REFRESH_SECONDS: seconds.default(60),
};

export function readTokens(e: EnvOf<typeof tokenEnv>): TokenConfig {
  return {
    ttl: {
      interactionSeconds: e.INTERACTION_TTL_SECONDS,
      interactionRestartSeconds: e.INTERACTION_RESTART_TTL_SECONDS,
      authorizationCodeSeconds: e.AUTHORIZATION_CODE_TTL_SECONDS,
      accessTokenSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
      idTokenSeconds: e.ID_TOKEN_TTL_SECONDS,
      refreshTokenSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
      publicClientRefreshTokenSeconds: e.PUBLIC_CLIENT_REFRESH_TOKEN_TTL_SECONDS,
    },
    keys: { publishSeconds: e.KEY_PUBLISH_SECONDS, refreshSeconds: e.KEY_REFRESH_SECONDS },
  };
}

/** "Start again" must outlive the interaction it restarts, or it would never be offered. */
export function restartProblems(ttl: TokenLifetimes): string[] {
  return ttl.interactionRestartSeconds > ttl.interactionSeconds
    ? []
    : [`INTERACTION_RESTART_TTL_SECONDS: must be longer than INTERACTION_TTL_SECONDS (${ttl.interactionSeconds} s)`];
}
