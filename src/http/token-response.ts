/**
 * Protocol details of the token endpoint that oidc-provider leaves out, fixed on the way out:
 * - every token response carries `Cache-Control: no-store` (set by the library) and `Pragma: no-cache`
 *   (RFC 6749 §5.1, for HTTP/1.0 caches);
 * - a client asking for a grant type it is not registered for gets `unauthorized_client` (RFC 6749 §5.2);
 *   the library answers `invalid_request`. It is recognised by the library's description, and a test fails
 *   loudly if that description ever changes.
 */
import type { Middleware } from 'koa';

export const GRANT_NOT_ALLOWED = 'requested grant type is not allowed for this client';

export function tokenResponseFixes(tokenPath = '/token'): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.path !== tokenPath || ctx.method !== 'POST') return;
    ctx.set('Pragma', 'no-cache');
    const body = ctx.body as { error?: unknown; error_description?: unknown } | undefined;
    if (ctx.status === 400 && body && typeof body === 'object' && body.error === 'invalid_request' && body.error_description === GRANT_NOT_ALLOWED) {
      ctx.body = { ...body, error: 'unauthorized_client' };
    }
  };
}
