/**
 * "Start again" for an expired login. When a login page is first shown we keep the authorization
 * request (for INTERACTION_RESTART_TTL_SECONDS, a day by default) under the interaction id, so that when the interaction has expired the user can be
 * sent through the same client's authorization request again instead of hitting a dead end.
 * Rules:
 * - only parameters oidc-provider already validated for that client are kept; nothing secret;
 * - it is kept in a cookie of the browser that saw the page (issue 13: no database write per login
 *   page), scoped to /interaction/<uid>, HMAC-signed under a server secret together with the uid and its
 *   end, so it cannot be moved to another interaction, outlive its lifetime or be altered; a request too
 *   long for a cookie is kept in the database under the uid instead, as before;
 * - the link always points at our own /auth, which validates the request again.
 */
import crypto from 'node:crypto';
import type { Context } from 'koa';
import type { Adapter } from 'oidc-provider';
import type { Clock } from '../clock.js';

const KEEP = new Set([
  'client_id', 'redirect_uri', 'response_type', 'response_mode', 'scope', 'state', 'nonce', 'code_challenge',
  'code_challenge_method', 'ui_locales', 'claims', 'acr_values', 'max_age', 'login_hint', 'prompt',
]);

const COOKIE = 'nordlys.restart';
/** Well under the 4096 bytes browsers keep for a cookie with its name and attributes. */
const MAX_COOKIE_VALUE = 3000;

export function createRestartStore(deps: { adapter: Adapter; issuer: string; ttlSeconds: number; secret: string; clock: Clock }) {
  const key = crypto.createHash('sha256').update(`nordlys-restart\n${deps.secret}`).digest();
  const sign = (uid: string, endsAt: number, query: string) =>
    crypto.createHmac('sha256', key).update(`${uid}\n${endsAt}\n${query}`).digest('base64url');
  const urlOf = (query: string) => `${deps.issuer}/auth?${query}`;
  const cookieOptions = (ctx: Context, uid: string) => ({ path: `/interaction/${uid}`, httpOnly: true, sameSite: 'lax' as const, secure: ctx.secure, signed: false, overwrite: true });

  /** The query kept in a valid cookie for this uid, if any. */
  function fromCookie(ctx: Context, uid: string): string | undefined {
    const value = ctx.cookies.get(COOKIE, { signed: false });
    const [endsAtText, encoded, mac] = value?.split('.') ?? [];
    if (!endsAtText || encoded === undefined || !mac || !/^\d+$/.test(endsAtText)) return undefined;
    const endsAt = Number(endsAtText);
    if (endsAt <= deps.clock.now()) return undefined;
    const query = Buffer.from(encoded, 'base64url').toString('utf8');
    const expected = Buffer.from(sign(uid, endsAt, query));
    const given = Buffer.from(mac);
    return given.length === expected.length && crypto.timingSafeEqual(given, expected) ? query : undefined;
  }

  return {
    async remember(ctx: Context, uid: string, params: Record<string, unknown>): Promise<void> {
      const search = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) {
        if (KEEP.has(k) && typeof v === 'string' && v !== '') search.set(k, v);
      }
      const query = search.toString();
      // Shown again (a reload): the browser already holds this request.
      if (fromCookie(ctx, uid) === query) return;
      const endsAt = deps.clock.now() + deps.ttlSeconds * 1000;
      const value = `${endsAt}.${Buffer.from(query).toString('base64url')}.${sign(uid, endsAt, query)}`;
      if (value.length <= MAX_COOKIE_VALUE) {
        ctx.cookies.set(COOKIE, value, { ...cookieOptions(ctx, uid), maxAge: deps.ttlSeconds * 1000 });
        return;
      }
      await deps.adapter.upsert(uid, { url: urlOf(query) } as never, deps.ttlSeconds);
    },
    async restartUrl(ctx: Context, uid: string): Promise<string | undefined> {
      const query = fromCookie(ctx, uid);
      if (query !== undefined) return urlOf(query);
      const found = (await deps.adapter.find(uid)) as { url?: string } | undefined;
      return found?.url;
    },
  };
}

export type RestartStore = ReturnType<typeof createRestartStore>;
