/**
 * On a loopback development issuer (`http://localhost:3000`), marks each request as a secure context, so the
 * `Secure; SameSite=None` session cookie that HTTP POST to /auth needs can be set (see
 * provider/post-methods.ts). Browsers accept Secure cookies from loopback origins; the `cookies` library
 * would otherwise refuse to set one over plain http. Only this request's own `secure` flag (and its cookie
 * jar's) is set: nothing of koa or oidc-provider is patched, and HSTS (decided before this runs)
 * is not sent to localhost.
 */
import type { Middleware } from 'koa';

export function loopbackSecureContext(): Middleware {
  return async (ctx, next) => {
    // koa's ctx.secure reads ctx.request.secure; its cookie jar takes the flag when it is made (or now).
    Object.defineProperty(ctx.request, 'secure', { value: true, configurable: true });
    ctx.cookies.secure = true;
    await next();
  };
}
