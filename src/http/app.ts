/**
 * The koa application: our middleware and pages in front, oidc-provider behind them.
 * Order: request id + access log → security headers → error handler → health, static files and our
 * interaction pages → everything else to the current oidc-provider instance (swapped on key rotation).
 */
import fs from 'node:fs';
import path from 'node:path';
import Koa from 'koa';
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
  publicDir: string;
  getProvider: () => Provider;
  /** Routers for our own pages (interactions, later the mocks); each is mounted in order. */
  pageRouters: Router[];
}

const handlers = new WeakMap<Provider, ReturnType<Provider['callback']>>();

export function createApp(deps: AppDeps): Koa {
  const app = new Koa({ proxy: deps.trustProxy });
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
  const stylesheet = fs.readFileSync(path.join(deps.publicDir, 'style.css'));
  system.get('/static/style.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = stylesheet;
  });

  app.use(requestContext(deps.logger));
  app.use(securityHeaders());
  app.use(errorHandler(deps.renderer));
  app.use(system.routes());
  for (const router of deps.pageRouters) {
    app.use(async (ctx, next) => (router.match(ctx.path, ctx.method).path ? pageCsp()(ctx, next) : next()));
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  app.use(async (ctx) => {
    const provider = deps.getProvider();
    let handle = handlers.get(provider);
    if (!handle) {
      handle = provider.callback();
      handlers.set(provider, handle);
    }
    ctx.respond = false;
    await handle(ctx.req, ctx.res);
  });
  return app;
}
