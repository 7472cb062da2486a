/**
 * Runs the current oidc-provider instance as middleware of our app and makes its database trouble honest.
 * Rules enforced here:
 * - oidc-provider answers an unexpected error itself, as `server_error` 500; when that error was the
 *   database being unavailable (src/store/db-errors.ts), the answer becomes 503 with Retry-After and the
 *   OAuth error `temporarily_unavailable` (RFC 6749 §4.1.2.1, §5.2): JSON `{ error, error_description }` at the
 *   JSON endpoints (token, userinfo, introspection, …), the localised "try again shortly" page where it
 *   renders HTML (its renderError draws that page, see src/provider/pages.ts);
 * - we learn the cause from oidc-provider's documented `server_error` event, which it emits with the ctx
 *   and the error right after it wrote its answer; nothing of oidc-provider is patched;
 * - requests are marked as protocol requests, so a deadline that cuts one short answers in the same format;
 * - discovery and JWKS are answered from memory once the instance has answered them (published-documents.ts).
 */
import type { Middleware, Context, Next } from 'koa';
import compose from 'koa-compose';
import type Provider from 'oidc-provider';
import { isDatabaseUnavailable } from '../store/db-errors.js';
import { publishedDocuments } from './published-documents.js';

export const UNAVAILABLE_DESCRIPTION = 'the service is temporarily unavailable, try again shortly';

/** Makes a response 503 + Retry-After; a JSON OAuth error body becomes `temporarily_unavailable`. */
export function answerUnavailable(ctx: Context, retryAfterSeconds: number): void {
  ctx.status = 503;
  ctx.set('Retry-After', String(retryAfterSeconds));
  const body = ctx.body as unknown;
  if (body && typeof body === 'object' && !Buffer.isBuffer(body) && 'error' in body) {
    const state = (body as { state?: unknown }).state;
    ctx.body = { error: 'temporarily_unavailable', error_description: UNAVAILABLE_DESCRIPTION, ...(typeof state === 'string' ? { state } : {}) };
  }
}

export function providerMount(getProvider: () => Provider, retryAfterSeconds: number): Middleware {
  const composed = new WeakMap<Provider, Middleware>();
  const middlewareOf = (provider: Provider): Middleware => {
    let middleware = composed.get(provider);
    if (!middleware) {
      middleware = compose(provider.middleware) as Middleware;
      provider.on('server_error', (ctx: Context, err: unknown) => {
        if (isDatabaseUnavailable(err)) ctx.state.databaseUnavailable = true;
      });
      composed.set(provider, middleware);
    }
    return middleware;
  };
  const run = async (provider: Provider, ctx: Context, next: Next) => {
    // What oidc-provider does not answer is ours again (the error handler's localised 404).
    await middlewareOf(provider)(ctx, async () => {
      ctx.state.protocolRequest = false;
      await next();
    });
    if (ctx.state.databaseUnavailable) answerUnavailable(ctx, retryAfterSeconds);
  };
  const documents = publishedDocuments(getProvider, run);
  return (ctx, next) => {
    ctx.state.protocolRequest = true;
    return documents(ctx, next);
  };
}
