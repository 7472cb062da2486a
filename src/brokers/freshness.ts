/**
 * Whether an upstream login is as fresh as the relying party demanded (OIDC Core §3.1.2.1). Pure. Rules:
 * - `prompt=login`: the upstream must have authenticated the person after we sent them there, so its
 *   `auth_time` is no earlier than that moment (less a small allowance for the two clocks);
 * - `max_age`: the upstream `auth_time` is no older than `max_age` seconds now (with the same allowance);
 * - when either is demanded, an answer without a numeric `auth_time` cannot prove it and is refused;
 * - no demand, no check: the upstream's own single sign-on is then fine.
 */
import type { Requirement } from './types.js';

/** How far the upstream's clock may be behind ours, in seconds. */
export const CLOCK_SKEW_SECONDS = 30;

/** Why the login is not fresh enough, or undefined when it is (or nothing was demanded). */
export function stalenessOf(fresh: Requirement['fresh'], authTime: unknown, sentAtMs: number, nowMs: number): string | undefined {
  if (!fresh || (!fresh.prompt && fresh.maxAge === undefined)) return undefined;
  if (typeof authTime !== 'number' || !Number.isFinite(authTime)) return 'the answer has no auth_time';
  if (fresh.prompt && authTime < Math.floor(sentAtMs / 1000) - CLOCK_SKEW_SECONDS) return 'auth_time is before the login was sent upstream (prompt=login ignored)';
  if (fresh.maxAge !== undefined && authTime < Math.floor(nowMs / 1000) - fresh.maxAge - CLOCK_SKEW_SECONDS) return `auth_time is older than max_age=${fresh.maxAge}`;
  return undefined;
}

/** The demand in an authorization request's parameters (oidc-provider's interaction details). */
export function freshnessDemand(params: Record<string, unknown>): Requirement['fresh'] {
  const prompt = typeof params.prompt === 'string' && params.prompt.split(' ').includes('login');
  const raw = params.max_age;
  const maxAge = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : undefined;
  if (!prompt && maxAge === undefined) return undefined;
  return { prompt, ...(maxAge !== undefined && Number.isSafeInteger(maxAge) ? { maxAge } : {}) };
}
