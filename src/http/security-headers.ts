/**
 * Security headers (OWASP secure headers). Every response: no sniffing, no referrer (authorization
 * responses carry codes), no framing; HSTS on every response when the issuer is https (the service is
 * then only ever served over https: host-check.ts refuses anything else). Our own HTML pages also get a strict
 * CSP; oidc-provider's own responses keep the CSP it sets itself (form_post needs its inline script).
 */
import type { Middleware } from 'koa';

export const PAGE_CSP = "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; img-src 'self' data:";

export function securityHeaders(options: { hsts: boolean }): Middleware {
  return async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    if (options.hsts) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    await next();
  };
}

export function pageCsp(): Middleware {
  return async (ctx, next) => {
    ctx.set('Content-Security-Policy', PAGE_CSP);
    ctx.set('Cache-Control', 'no-store');
    await next();
  };
}
