/**
 * Mounting a mock (a koa application of its own) in a host app under a path prefix, as koa-mount
 * would, but through the mock's own request handler rather than as middleware of the host. Rules:
 * - the mock answers the request itself (`ctx.respond = false` for the host), so it signs and reads
 *   cookies with its own keys and renders its own errors; the host's keys and error pages never apply;
 * - while it runs, `req.url` is the path without the prefix; `req.originalUrl` and `req.baseUrl` tell
 *   oidc-provider where it is mounted, so every URL it builds keeps the prefix; `req.url` is restored after;
 * - requests outside the prefix go on to the host's `next`; an empty prefix takes every request;
 * - the request body must still be unread: mount this before any body parser.
 */
import type { IncomingMessage } from 'node:http';
import type Koa from 'koa';
import type { Middleware } from 'koa';

type MountedRequest = IncomingMessage & { originalUrl?: string; baseUrl?: string };

export function mountUnder(prefix: string, app: Koa): Middleware {
  const handle = app.callback();
  return async (ctx, next) => {
    if (prefix && ctx.path !== prefix && !ctx.path.startsWith(`${prefix}/`)) return next();
    const req = ctx.req as MountedRequest;
    const saved = { url: req.url, originalUrl: req.originalUrl, baseUrl: req.baseUrl };
    const full = req.url ?? '/';
    const rest = full.slice(prefix.length);
    req.url = rest.startsWith('/') ? rest : `/${rest}`;
    req.originalUrl = full;
    req.baseUrl = prefix;
    ctx.respond = false;
    try {
      await handle(req, ctx.res);
    } finally {
      req.url = saved.url;
      req.originalUrl = saved.originalUrl;
      req.baseUrl = saved.baseUrl;
    }
  };
}

/** A mock's base path: '' (its own server) or a path such as /mock/bankid, without a trailing slash. */
export function basePathOf(pathOrUrl: string): string {
  const base = (/^https?:/.test(pathOrUrl) ? new URL(pathOrUrl).pathname : pathOrUrl).replace(/\/+$/, '');
  if (base && !base.startsWith('/')) throw new Error(`a mock's base path must start with /, not "${pathOrUrl}"`);
  return base;
}
