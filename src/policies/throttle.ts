/**
 * Rate-limit arithmetic (DESIGN §5, §7). Pure: the store keeps the counters, this decides. Rules:
 * - `backoff` (failed logins): a number of free failures, then a delay that doubles with every further
 *   failure up to a cap — never a permanent lockout an attacker could impose; the count is forgotten
 *   after a quiet period;
 * - `window` (code sends): at most `limit` hits per fixed window; the next hit waits for the window's end;
 * - addresses are bucketed so one client cannot dodge the limit by rotating: an IPv6 address counts by
 *   its /64 prefix, an IPv4-mapped IPv6 address as the IPv4 address;
 * - a loopback client address has no per-IP limit: it is this machine (a local proxy that is not in
 *   TRUSTED_PROXIES, a health check, a test), where every person would share one counter — a per-IP
 *   limit there is a limit on everybody at once. Per-account limits still hold.
 */

export interface CounterState {
  hits: number;
  /** backoff: when the last hit was; window: when the window began (epoch ms). */
  windowStartedAt: number;
  /** Until when (epoch ms) the key is refused; null when it is not. */
  blockedUntil: number | null;
}

export interface BackoffPolicy {
  kind: 'backoff';
  freeFailures: number;
  baseDelaySeconds: number;
  maxDelaySeconds: number;
  forgetAfterSeconds: number;
}

export interface WindowPolicy {
  kind: 'window';
  limit: number;
  windowSeconds: number;
}

export type ThrottlePolicy = BackoffPolicy | WindowPolicy;

/** Milliseconds until the key may be hit again (0 when it may be hit now). */
export function waitMs(state: CounterState | undefined, now: number): number {
  return state?.blockedUntil && state.blockedUntil > now ? state.blockedUntil - now : 0;
}

/** The delay (seconds) a backoff policy imposes after `hits` consecutive failures. */
export function backoffDelaySeconds(hits: number, policy: BackoffPolicy): number {
  const over = hits - policy.freeFailures;
  if (over <= 0) return 0;
  // 2 ** over grows past any cap quickly; clamp the exponent so the arithmetic stays finite.
  return Math.min(policy.baseDelaySeconds * 2 ** Math.min(over - 1, 30), policy.maxDelaySeconds);
}

/** The counter after one more hit at `now`. */
export function afterHit(state: CounterState | undefined, now: number, policy: ThrottlePolicy): CounterState {
  if (policy.kind === 'backoff') {
    const fresh = !state || now - state.windowStartedAt >= policy.forgetAfterSeconds * 1000;
    const hits = fresh ? 1 : state.hits + 1;
    const delay = backoffDelaySeconds(hits, policy);
    return { hits, windowStartedAt: now, blockedUntil: delay > 0 ? now + delay * 1000 : null };
  }
  const windowMs = policy.windowSeconds * 1000;
  const fresh = !state || now >= state.windowStartedAt + windowMs;
  const windowStartedAt = fresh ? now : state.windowStartedAt;
  const hits = fresh ? 1 : state.hits + 1;
  return { hits, windowStartedAt, blockedUntil: hits >= policy.limit ? windowStartedAt + windowMs : null };
}

/** The counter after a hit is taken back (a login that turned out to succeed). */
export function afterRefund(state: CounterState, policy: ThrottlePolicy): CounterState {
  const hits = Math.max(0, state.hits - 1);
  if (policy.kind === 'backoff') {
    return { ...state, hits, blockedUntil: backoffDelaySeconds(hits, policy) > 0 ? state.blockedUntil : null };
  }
  return { ...state, hits, blockedUntil: hits >= policy.limit ? state.blockedUntil : null };
}

/** The bucket an address counts in: IPv4 as is, IPv6 by its /64, IPv4-mapped IPv6 as IPv4. */
export function ipBucket(ip: string): string {
  const address = ip.trim().toLowerCase().replace(/%.*$/, '');
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.split('::', 2);
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => (g || '0').replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** Whether per-IP limits count `ip`: every address but loopback (127.0.0.0/8, ::1, and IPv4-mapped loopback). */
export function countsPerIp(ip: string): boolean {
  const address = ip.trim().toLowerCase().replace(/%.*$/, '');
  const v4 = /^(?:::ffff:)?(\d{1,3})(?:\.\d{1,3}){3}$/.exec(address);
  if (v4) return v4[1] !== '127';
  return address !== '::1' && address !== '0:0:0:0:0:0:0:1';
}

/**
 * A policy as the counter store takes it (src/store/rate-limits.ts `CounterRule`): its numbers, the first
 * hit's state and the backoff delays, so the store computes nothing of the policy itself.
 */
export function counterRule(policy: ThrottlePolicy) {
  const firstHit = (now: number): CounterState => afterHit(undefined, now, policy);
  if (policy.kind === 'window') return { kind: 'window' as const, limit: policy.limit, windowSeconds: policy.windowSeconds, firstHit, policy };
  return {
    kind: 'backoff' as const,
    freeFailures: policy.freeFailures,
    forgetAfterSeconds: policy.forgetAfterSeconds,
    firstHit,
    delaySeconds: (hits: number) => backoffDelaySeconds(hits, policy),
    policy,
  };
}
