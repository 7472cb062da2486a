/**
 * When a login session ends (DESIGN §6). Pure rules, in epoch seconds:
 * - a session ends `idleTimeoutSeconds` after it was last used, and at the latest `maxLifetimeSeconds`
 *   after the login that made it: its lifetime on every save is the smaller of the two, so activity keeps
 *   it alive up to the absolute lifetime and never past it;
 * - an ended session says why it ended: it was due at its absolute end (`max_lifetime`), or earlier
 *   (`idle`);
 * - the note the login page shows names the idle timeout in minutes when it is a whole number of
 *   minutes, else in seconds (a few seconds are allowed so the rules can be tried by hand).
 */
import type { MessageId } from '../i18n/translate.js';

export interface SessionPolicy {
  idleTimeoutSeconds: number;
  maxLifetimeSeconds: number;
}

/** The fields of an oidc-provider Session payload these rules read (epoch seconds). */
export interface SessionTimes {
  /** When the account logged in (oidc-provider's loginTs). */
  loginTs?: number;
  /** When the session was first saved. */
  iat?: number;
  /** When the session is due to end, as last saved. */
  exp?: number;
}

export type SessionEnd = 'idle' | 'max_lifetime';

/** The moment the absolute lifetime counts from: the login, or (no login yet) the first save, or now. */
export function sessionStart(session: SessionTimes, now: number): number {
  return session.loginTs ?? session.iat ?? now;
}

/** The lifetime to save the session with now; at least one second, as oidc-provider requires. */
export function sessionTtlSeconds(policy: SessionPolicy, session: SessionTimes, now: number): number {
  const remaining = sessionStart(session, now) + policy.maxLifetimeSeconds - now;
  return Math.max(1, Math.min(policy.idleTimeoutSeconds, remaining));
}

/** Why a session that is past its `exp` ended. */
export function endReason(policy: SessionPolicy, session: SessionTimes): SessionEnd {
  const start = session.loginTs ?? session.iat;
  if (start === undefined || session.exp === undefined) return 'idle';
  return session.exp >= start + policy.maxLifetimeSeconds ? 'max_lifetime' : 'idle';
}

export interface SessionEndNotice {
  id: MessageId;
  params: Record<string, number>;
}

/** The note for a person whose session ended, in the policy's own numbers. */
export function endNotice(policy: SessionPolicy, reason: SessionEnd): SessionEndNotice {
  if (reason === 'max_lifetime') return { id: 'session.ended.max_lifetime', params: {} };
  const seconds = policy.idleTimeoutSeconds;
  return seconds % 60 === 0
    ? { id: 'session.ended.idle_minutes', params: { minutes: seconds / 60 } }
    : { id: 'session.ended.idle_seconds', params: { seconds } };
}

export function isSessionEnd(value: unknown): value is SessionEnd {
  return value === 'idle' || value === 'max_lifetime';
}
