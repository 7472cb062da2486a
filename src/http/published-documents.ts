/**
 * Discovery and JWKS, answered from memory in front of oidc-provider. Rules:
 * - a document is what the current oidc-provider instance answered the first time it was asked (its
 *   routes: both discovery paths and `provider.pathFor('jwks')`), kept per instance: the provider that
 *   is swapped in when the signing keys change starts with none, so JWKS always lists its keys;
 * - only a 200 answer to GET or HEAD is kept, after every middleware of the provider has run;
 * - every answer carries a strong ETag (a hash of the body) and `Cache-Control: public, max-age=…`;
 *   a GET or HEAD whose If-None-Match names it (or `*`) gets 304 without a body;
 * - CORS as oidc-provider answers these open endpoints: Access-Control-Allow-Origin is the request's
 *   Origin or `*`, with `Vary: Origin`. Preflight requests (OPTIONS) still go to oidc-provider;
 * - the request is labelled with the route the provider's router matched, as if it had answered (the
 *   request timer of src/observability/metrics-http.ts reads it).
 * Sharing one copy is safe: host-check.ts turns away every other host and makes the request the
 * issuer's before anything is built, so the URLs in discovery are the issuer's, whoever asked.
 * MAX_AGE_SECONDS is short against KEY_PUBLISH_SECONDS (a new key is published an hour before it signs).
 */
import crypto from 'node:crypto';
import type { Context, Middleware, Next } from 'koa';
import type Provider from 'oidc-provider';

export const MAX_AGE_SECONDS = 300;
const CACHE_CONTROL = `public, max-age=${MAX_AGE_SECONDS}`;
const DISCOVERY_PATHS = ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'];

interface Document {
  body: Buffer;
  type: string;
  etag: string;
  /** The route template the provider's router matched: the request timer labels by it (metrics-http.ts). */
  route: unknown;
}

interface ProviderDocuments {
  paths: Set<string>;
  byPath: Map<string, Document>;
}

function answer(ctx: Context, doc: Document): void {
  (ctx as { _matchedRoute?: unknown })._matchedRoute = doc.route;
  ctx.vary('Origin');
  ctx.set('Access-Control-Allow-Origin', ctx.get('Origin') || '*');
  ctx.set('Cache-Control', CACHE_CONTROL);
  ctx.status = 200;
  ctx.type = doc.type;
  ctx.body = doc.body;
  ctx.set('ETag', doc.etag);
  // koa's ctx.fresh would say no whenever the request also sends Cache-Control: no-cache, as fetch
  // does with every conditional request; for the origin server that changes nothing (RFC 9111 §5.2.1.4).
  const ifNoneMatch = ctx.get('If-None-Match');
  if (ifNoneMatch && namesTag(ifNoneMatch, doc.etag)) ctx.status = 304; // koa sends a 304 without its body
}

/** If-None-Match with `*` or the tag, compared weakly (RFC 9110 §13.1.2). */
function namesTag(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag);
}

/** Captures a 200 answer of the provider as a document; undefined for anything else. */
function capture(ctx: Context): Document | undefined {
  if (ctx.status !== 200) return undefined;
  const raw = ctx.body as unknown;
  let body: Buffer;
  if (Buffer.isBuffer(raw)) body = raw;
  else if (typeof raw === 'string') body = Buffer.from(raw);
  else if (raw && typeof raw === 'object' && typeof (raw as { pipe?: unknown }).pipe !== 'function') body = Buffer.from(JSON.stringify(raw));
  else return undefined;
  const type = ctx.response.get('Content-Type') || 'application/json; charset=utf-8';
  const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  return { body, type, etag: `"${crypto.createHash('sha256').update(body).digest('base64url')}"`, route };
}

/**
 * `run(provider, ctx, next)` is how the caller runs oidc-provider for a request (provider-mount.ts);
 * the returned middleware answers discovery and JWKS from memory and hands everything else to it.
 */
export function publishedDocuments(getProvider: () => Provider, run: (provider: Provider, ctx: Context, next: Next) => Promise<void>): Middleware {
  const cache = new WeakMap<Provider, ProviderDocuments>();
  const documentsOf = (provider: Provider): ProviderDocuments => {
    let documents = cache.get(provider);
    if (!documents) {
      documents = { paths: new Set([...DISCOVERY_PATHS, provider.pathFor('jwks')]), byPath: new Map() };
      cache.set(provider, documents);
    }
    return documents;
  };
  return async (ctx, next) => {
    const provider = getProvider();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return run(provider, ctx, next);
    const documents = documentsOf(provider);
    if (!documents.paths.has(ctx.path)) return run(provider, ctx, next);
    const known = documents.byPath.get(ctx.path);
    if (known) return answer(ctx, known);
    await run(provider, ctx, next);
    const doc = capture(ctx);
    if (!doc) return;
    documents.byPath.set(ctx.path, doc);
    answer(ctx, doc);
  };
}
