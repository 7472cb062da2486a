/**
 * The koa application: our middleware and pages in front, oidc-provider behind them.
 * Order: request id + access log → security headers → error handler → health, static files and our
 * interaction pages → everything else to the current oidc-provider instance (swapped on key rotation)
 * → a localised 404 for what nobody answered.
 */
import fs from 'node:fs';
import path from 'node:path';
import Koa, { type Middleware } from 'koa';
import compose from 'koa-compose';
import Router from '@koa/router';
import type Provider from 'oidc-provider';
import type { Logger } from '../logger.js';
import type { Database } from '../store/db.js';
import { isReachable } from '../store/db.js';
import type { Renderer } from '../interactions/render.js';
import { requestContext } from './request-context.js';
import { pageCsp, securityHeaders } from './security-headers.js';
import { errorHandler } from './error-handler.js';

export interface AppDeps {
  logger: Logger;
  db: Database;
  renderer: Renderer;
  trustProxy: boolean;
  cookieKeys: string[];
  publicDir: string;
  getProvider: () => Provider;
  /** Routers for our own pages (interactions, later the mocks); each is mounted in order. */
  pageRouters: Router[];
  /** Mock upstreams served by this app (development), each handling its own path prefix. */
  upstreamMiddleware?: Middleware[];
}

const composed = new WeakMap<Provider, Middleware>();

export function createApp(deps: AppDeps): Koa {
  // oidc-provider runs as middleware of this app (as koa-mount would run it), so its ctx.cookies use
  // this app's keys: they must be the provider's cookie keys.
  const app = new Koa({ proxy: deps.trustProxy, keys: deps.cookieKeys });
  app.on('error', (err: unknown) => deps.logger.debug({ err }, 'koa error event'));

  const system = new Router();
  system.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  system.get('/readyz', async (ctx) => {
    const ready = await isReachable(deps.db);
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'database unreachable' };
  });
  // The few static files our pages use, read once (a fixed list: no path from the request touches the disk).
  const staticFiles: Array<[string, string]> = [
    ['style.css', 'text/css'],
    ['bankid.js', 'application/javascript'],
    ['playground.css', 'text/css'],
  ];
  for (const [name, type] of staticFiles) {
    const content = fs.readFileSync(path.join(deps.publicDir, name));
    system.get(`/static/${name}`, (ctx) => {
      ctx.type = type;
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.body = content;
    });
  }

  app.use(requestContext(deps.logger));
  app.use(securityHeaders());
  app.use(errorHandler(deps.renderer));
  app.use(system.routes());
  for (const router of deps.pageRouters) {
    app.use(async (ctx, next) => (router.match(ctx.path, ctx.method).route ? pageCsp()(ctx, next) : next()));
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  for (const middleware of deps.upstreamMiddleware ?? []) app.use(middleware);
  // Whatever oidc-provider does not answer falls back to the error handler's localised 404.
  app.use(async (ctx, next) => {
    const provider = deps.getProvider();
    let middleware = composed.get(provider);
    if (!middleware) {
      middleware = compose(provider.middleware) as Middleware;
      composed.set(provider, middleware);
    }
    await middleware(ctx, next);
  });
  return app;
}
