/**
 * The koa application: our middleware and pages in front, oidc-provider behind them.
 * Order: request id + access log → security headers → error handler → response deadline → client
 * address from trusted proxies → health and static files → only requests for the issuer's host → our
 * interaction pages → everything else to the current oidc-provider instance (swapped on key rotation)
 * → a localised 404 for what nobody answered.
 * While the database is away every answer is a 503 with Retry-After, and /readyz says so within its
 * own short timeout.
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
import type { Renderer } from '../views/renderer.js';
import { requestContext } from './request-context.js';
import type { RequestScope } from './request-scope.js';
import { pageCsp, securityHeaders } from './security-headers.js';
import { errorHandler } from './error-handler.js';
import { createProxyTrust } from './client-address.js';
import { trustedForwarding } from './trusted-forwarding.js';
import { issuerHostOnly } from './host-check.js';
import { loopbackSecureContext } from './loopback-secure.js';
import { tokenResponseFixes } from './token-response.js';
import { deadline } from './deadline.js';
import { providerMount } from './provider-mount.js';
import { gatedRouter } from './route-gate.js';

export interface AppDeps {
  /** Set when shutdown begins: /readyz answers 503 so load balancers stop sending traffic. */
  readiness?: { draining: boolean };
  logger: Logger;
  db: Database;
  renderer: Renderer;
  /** The configured issuer: the only host answered, and the origin of every URL built. */
  issuer: string;
  /** TRUSTED_PROXIES entries (addresses, CIDR ranges, loopback, private). */
  trustedProxies: readonly string[];
  cookieKeys: string[];
  publicDir: string;
  getProvider: () => Provider;
  /** Routers for our own pages (interactions, later the mocks); each is mounted in order. */
  pageRouters: Router[];
  /** The issuer is plain http on loopback: requests count as a secure context (provider/post-methods.ts). */
  loopbackHttpIssuer?: boolean;
  /** Mock upstreams served by this app (development), each handling its own path prefix. */
  upstreamMiddleware?: Middleware[];
  availability: { requestDeadlineMs: number; readyTimeoutMs: number; retryAfterSeconds: number };
  /** Makes the request being served known to code that is not handed its ctx (src/http/request-scope.ts). */
  requestScope?: RequestScope;
  /** The request timer and, when served on the main port, /metrics (src/observability/metrics-http.ts). */
  metrics?: { timer: Middleware; endpoint?: Middleware | undefined };
}

export function createApp(deps: AppDeps): Koa {
  // oidc-provider runs as middleware of this app (as koa-mount would run it), so its ctx.cookies use
  // this app's keys: they must be the provider's cookie keys.
  // `proxy` is on only because trustedForwarding (before anything reads them) replaces every
  // X-Forwarded-* header with values it validated against TRUSTED_PROXIES.
  const app = new Koa({ proxy: true, keys: deps.cookieKeys });
  app.on('error', (err: unknown) => deps.logger.debug({ err }, 'koa error event'));

  const system = new Router();
  system.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  system.get('/readyz', async (ctx) => {
    if (deps.readiness?.draining) {
      ctx.status = 503;
      ctx.body = { status: 'shutting down' };
      return;
    }
    const ready = await isReachable(deps.db, deps.availability.readyTimeoutMs);
    ctx.status = ready ? 200 : 503;
    if (!ready) ctx.set('Retry-After', String(deps.availability.retryAfterSeconds));
    ctx.set('Cache-Control', 'no-store');
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
  if (deps.requestScope) app.use(deps.requestScope.middleware);
  if (deps.metrics) app.use(deps.metrics.timer);
  app.use(securityHeaders({ hsts: deps.issuer.startsWith('https://') }));
  app.use(errorHandler(deps.renderer, { retryAfterSeconds: deps.availability.retryAfterSeconds }));
  app.use(deadline(deps.availability.requestDeadlineMs));
  app.use(trustedForwarding(createProxyTrust(deps.trustedProxies)));
  if (deps.loopbackHttpIssuer) app.use(loopbackSecureContext());
  app.use(gatedRouter(system, system.routes() as Middleware));
  if (deps.metrics?.endpoint) app.use(deps.metrics.endpoint);
  app.use(issuerHostOnly(deps.issuer));
  // Each router runs only for the paths it could answer (route-gate.ts): the API requests that
  // oidc-provider answers pass by without matching every page route.
  const csp = pageCsp();
  for (const router of deps.pageRouters) {
    const pages: Middleware = compose([
      (ctx, next) => (router.match(ctx.path, ctx.method).route ? csp(ctx, next) : next()),
      router.routes() as Middleware,
      router.allowedMethods() as Middleware,
    ]);
    app.use(gatedRouter(router, pages));
  }
  for (const middleware of deps.upstreamMiddleware ?? []) app.use(middleware);
  app.use(tokenResponseFixes());
  // Whatever oidc-provider does not answer falls back to the error handler's localised 404.
  app.use(providerMount(deps.getProvider, deps.availability.retryAfterSeconds));
  return app;
}
