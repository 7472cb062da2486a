/**
 * Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a browser that has
 * logged in to an account carries proof of it, so other people's failures cannot lock it out. Rules:
 * - one cookie per (browser, account), set after every successful login with a fresh random nonce; its
 *   name is derived from a keyed hash of the account id, its value is `nonce.issued.mac`, the MAC an
 *   HMAC under an instance secret over (account id, nonce, issued): no address, no account id in clear;
 * - a cookie counts only for the account it was made for, only with our key, only within its lifetime;
 * - httpOnly, SameSite=Lax, Secure when the request came over https, path /interaction (the only place
 *   it is read), max-age the configured lifetime;
 * - the cookie only chooses which failure budget an attempt draws on (login-throttle.ts); it never
 *   logs anyone in.
 */
import crypto from 'node:crypto';
import type { Context } from 'koa';
import type { Clock } from '../clock.js';

export interface DeviceCookies {
  /** The nonce of this browser's valid device cookie for the account, if it carries one. */
  read(ctx: Context, accountId: string): string | undefined;
  /** Gives the browser a new device cookie for the account (after a successful login). */
  issue(ctx: Context, accountId: string): void;
}

const COOKIE_PATH = '/interaction';

export function createDeviceCookies(deps: { key: Buffer; clock: Clock; lifetimeDays: number }): DeviceCookies {
  const lifetimeMs = deps.lifetimeDays * 24 * 3600 * 1000;
  const mac = (accountId: string, nonce: string, issued: string) =>
    crypto.createHmac('sha256', deps.key).update(`device\n${accountId}\n${nonce}\n${issued}`).digest('base64url');
  const nameOf = (accountId: string) =>
    `nordlys.device.${crypto.createHmac('sha256', deps.key).update(`name\n${accountId}`).digest('hex').slice(0, 16)}`;

  return {
    read(ctx, accountId) {
      const value = ctx.cookies.get(nameOf(accountId), { signed: false });
      const parts = value?.split('.');
      if (!parts || parts.length !== 3) return undefined;
      const [nonce, issued, given] = parts as [string, string, string];
      if (!/^[A-Za-z0-9_-]{22}$/.test(nonce) || !/^[0-9a-z]{1,12}$/.test(issued)) return undefined;
      const expected = Buffer.from(mac(accountId, nonce, issued));
      const actual = Buffer.from(given);
      if (expected.length !== actual.length || !crypto.timingSafeEqual(expected, actual)) return undefined;
      const age = deps.clock.now() - parseInt(issued, 36);
      return age >= 0 && age < lifetimeMs ? nonce : undefined;
    },

    issue(ctx, accountId) {
      const nonce = crypto.randomBytes(16).toString('base64url');
      const issued = deps.clock.now().toString(36);
      ctx.cookies.set(nameOf(accountId), `${nonce}.${issued}.${mac(accountId, nonce, issued)}`, {
        signed: false,
        httpOnly: true,
        sameSite: 'lax',
        secure: ctx.secure,
        path: COOKIE_PATH,
        maxAge: lifetimeMs,
        overwrite: true,
      });
    },
  };
}
