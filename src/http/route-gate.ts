/**
 * Runs a router's middleware only for paths it could answer, so a token or userinfo request does not
 * pay for matching every page route of every router. Rules:
 * - the gate is the set of first path segments the router's routes start with (read from its route
 *   list on the first request, when every route is registered); koa-router matches case-insensitively,
 *   and so does the gate;
 * - a router with a route whose first segment is not a plain word (a parameter, a pattern, a regular
 *   expression) is always run: the gate never hides a route. Middleware added with `router.use` does
 *   not count: koa-router runs it only for a path that one of its routes matches;
 * - for a path outside the gate, the router's routes and allowedMethods are skipped together: neither
 *   does anything there that another router's own does not. Only a method the router does not
 *   implement (allowedMethods answers it 501) always goes through the router, as before.
 */
import type { Middleware } from 'koa';
import type Router from '@koa/router';

const PLAIN_SEGMENT = /^[A-Za-z0-9._~-]*$/;

function firstSegment(path: string): string {
  const end = path.indexOf('/', 1);
  return (end === -1 ? path.slice(1) : path.slice(1, end)).toLowerCase();
}

/** The first segments of every route, or undefined when one route may start with anything. */
export function routeSegments(router: Router): Set<string> | undefined {
  const segments = new Set<string>();
  for (const layer of router.stack) {
    if (layer.methods.length === 0) continue;
    if (typeof layer.path !== 'string' || !layer.path.startsWith('/')) return undefined;
    const segment = firstSegment(layer.path);
    if (!PLAIN_SEGMENT.test(segment)) return undefined;
    segments.add(segment);
  }
  return segments;
}

/** `middleware` (the router's own, composed by the caller) runs only when the path is in the router's gate. */
export function gatedRouter(router: Router, middleware: Middleware): Middleware {
  let gate: Set<string> | undefined | null = null;
  return (ctx, next) => {
    if (gate === null) gate = routeSegments(router);
    if (gate && !gate.has(firstSegment(ctx.path)) && router.methods.includes(ctx.method)) return next();
    return middleware(ctx, next);
  };
}
