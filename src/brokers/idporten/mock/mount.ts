/**
 * Runs a koa application (the mock's oidc-provider) for every request under a path prefix, as koa-mount
 * would, but through the application's own request handler rather than as middleware of ours. Rules:
 * - the inner app answers the request itself (`ctx.respond = false` for ours), so it signs and reads
 *   cookies with its own keys and renders its own errors; our app's keys and error pages never apply;
 * - while it runs, `req.url` is the path without the prefix; `req.originalUrl` and `req.baseUrl` tell
 *   oidc-provider where it is mounted, so every URL it builds keeps the prefix; `req.url` is restored after;
 * - the request body must still be unread: mount this before any body parser.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'koa';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<unknown> | unknown;
type MountedRequest = IncomingMessage & { originalUrl?: string; baseUrl?: string };

export function isUnderPrefix(path: string, prefixPath: string): boolean {
  return prefixPath === '' || path === prefixPath || path.startsWith(`${prefixPath}/`);
}

export function mountHandler(handler: Handler, prefixPath: string): (ctx: Context) => Promise<void> {
  return async (ctx) => {
    const req = ctx.req as MountedRequest;
    const saved = { url: req.url, originalUrl: req.originalUrl, baseUrl: req.baseUrl };
    const full = req.url ?? '/';
    const rest = full.slice(prefixPath.length);
    req.url = rest.startsWith('/') ? rest : `/${rest}`;
    req.originalUrl = full;
    req.baseUrl = prefixPath;
    ctx.respond = false;
    try {
      await handler(req, ctx.res);
    } finally {
      req.url = saved.url;
      req.originalUrl = saved.originalUrl;
      req.baseUrl = saved.baseUrl;
    }
  };
}
