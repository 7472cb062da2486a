/**
 * Metrics over HTTP: the request timer, and `/metrics` on the main port or on a listener of its own.
 * Rules:
 * - requests are labelled by route template, never by raw path: the mock upstreams (development) as
 *   one `mock`, else the template a router matched (ours, `/interaction/:uid/login`, or oidc-provider's,
 *   `/token`), else oidc-provider's route name, else `other` (a scan of random paths adds no series);
 * - with METRICS_TOKEN set, every scrape must carry `Authorization: Bearer <token>`; the comparison is
 *   of two SHA-256 digests with timingSafeEqual (constant time, whatever the lengths);
 * - on the main port /metrics is answered only when there is no METRICS_PORT (then the main port gives
 *   it the same 404 as any unknown path); the metrics listener answers /metrics and 404s everything else;
 * - in a cluster the answer is the cluster's aggregate (metrics-cluster.ts); when it cannot be had the
 *   scrape gets a 503, so Prometheus records a failed scrape rather than one worker's counters.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { Middleware } from 'koa';
import { MetricsUnavailableError, type Metrics, type ScrapeSource } from './metrics.js';

export const METRICS_PATH = '/metrics';

function routeOf(ctx: { path: string; _matchedRoute?: unknown; oidc?: { route?: unknown } }): string {
  if (ctx.path.startsWith('/mock/')) return 'mock';
  if (typeof ctx._matchedRoute === 'string') return ctx._matchedRoute;
  if (typeof ctx.oidc?.route === 'string') return ctx.oidc.route;
  return 'other';
}

/** Times every request; placed right after the request context so every error is already a status. */
export function requestTimer(observe: Metrics['httpRequest'], now: () => bigint = process.hrtime.bigint): Middleware {
  return async (ctx, next) => {
    const started = now();
    try {
      await next();
    } finally {
      const route = ctx.path === METRICS_PATH ? METRICS_PATH : routeOf(ctx as never);
      observe(route, ctx.method, ctx.status, Number(now() - started) / 1e9);
    }
  };
}

const digest = (value: string) => crypto.createHash('sha256').update(value).digest();

/** True when the Authorization header carries the token (constant-time in the header and the token). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '';
  return crypto.timingSafeEqual(digest(presented), digest(token));
}

type Answer = { status: number; headers: Record<string, string>; body: string };

async function answer(source: ScrapeSource, token: string | undefined, authorization: string | undefined): Promise<Answer> {
  if (token !== undefined && !bearerMatches(authorization, token)) {
    return { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="metrics"', 'Content-Type': 'text/plain; charset=utf-8' }, body: 'a bearer token is required\n' };
  }
  try {
    return { status: 200, headers: { 'Content-Type': source.contentType, 'Cache-Control': 'no-store' }, body: await source.scrape() };
  } catch (err) {
    if (!(err instanceof MetricsUnavailableError)) throw err;
    return { status: 503, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }, body: 'metrics unavailable\n' };
  }
}

/** /metrics on the main port (only with METRICS_TOKEN and without METRICS_PORT). */
export function metricsEndpoint(source: ScrapeSource, token: string): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== METRICS_PATH || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    const a = await answer(source, token, ctx.get('authorization') || undefined);
    ctx.status = a.status;
    ctx.set(a.headers);
    ctx.body = a.body;
  };
}

/** The METRICS_PORT listener: GET /metrics (behind METRICS_TOKEN when that is set), 404 for the rest. */
export function createMetricsServer(source: ScrapeSource, token: string | undefined): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== METRICS_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    answer(source, token, req.headers.authorization).then(
      (a) => res.writeHead(a.status, a.headers).end(req.method === 'HEAD' ? undefined : a.body),
      () => res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('metrics unavailable\n'),
    );
  });
}
