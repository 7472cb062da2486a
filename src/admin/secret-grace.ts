/**
 * The grace period of a rotated client secret: a pre-middleware of the provider (the documented
 * `provider.use`), so the provider's own request handling and error format apply. oidc-provider compares the
 * presented secret with the one client_secret it has (Client#compareClientSecret, no documented hook for a
 * second one), so while a rotation's grace period lasts, a request that authenticates with HTTP Basic and
 * the client's previous secret has that header replaced by one carrying the current secret before the
 * provider sees it. Rules: only the previous secret of that very client, only before its grace period ends
 * (checked in the store, in constant time); nothing else about the request changes; the secrets never
 * reach a log; a failed lookup leaves the request untouched for the provider to answer.
 * Not covered: client_secret_post with the previous secret (the provider reads the body itself, after
 * this runs): such clients must switch at rotation time, or use Basic during the grace period.
 */
import type { Middleware } from 'koa';
import type { ClientStore } from '../store/clients.js';

/** RFC 6749 §2.3.1: client_id and secret are form-urlencoded inside the Basic credentials. */
const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, '%20'));
const encode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');

export function previousSecretGrace(store: Pick<ClientStore, 'isPreviousSecret' | 'providerMetadata'>): Middleware {
  /** The current secret when `presented` is the previous one in its grace period. */
  const currentSecretFor = async (clientId: string, presented: string): Promise<string | undefined> => {
    try {
      if (!(await store.isPreviousSecret(clientId, presented))) return undefined;
      const current = (await store.providerMetadata(clientId))?.client_secret;
      return typeof current === 'string' ? current : undefined;
    } catch {
      // The database is unavailable (or the row unreadable): the provider, which needs it too, answers
      // this request in its own format (503 temporarily_unavailable), so it is passed on untouched.
      return undefined;
    }
  };
  return async (ctx, next) => {
    const header = ctx.get('authorization');
    if (ctx.method === 'POST' && /^basic /i.test(header)) {
      const basic = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
      const i = basic.indexOf(':');
      let pair: [string, string] | undefined;
      try {
        pair = i > 0 ? [decode(basic.slice(0, i)), decode(basic.slice(i + 1))] : undefined;
      } catch {
        pair = undefined; // malformed: the provider answers it
      }
      if (pair && pair[1]) {
        const current = await currentSecretFor(pair[0], pair[1]);
        if (current) ctx.request.headers.authorization = `Basic ${Buffer.from(`${encode(pair[0])}:${encode(current)}`).toString('base64')}`;
      }
      // A stalled lookup may have outlived the request deadline, which has answered already.
      if (ctx.res.headersSent || ctx.res.writableEnded) return;
    }
    await next();
  };
}
