/**
 * Requests must be for the configured issuer. Rules:
 * - the request's host (Host, or X-Forwarded-Host from a trusted proxy, as trusted-forwarding.ts settled
 *   it) must name the issuer's host name, else 400: a request for another host never reaches a page or
 *   oidc-provider, so no discovery document or redirect can be built from an attacker's Host. The port
 *   is not compared: the service usually listens on another port than the public one;
 * - with an https issuer a request that did not arrive over https (directly or from a trusted proxy) is
 *   refused with 400, so cookies are always Secure;
 * - afterwards koa (and so oidc-provider) sees the issuer's own scheme and host: every URL it builds is
 *   the issuer's, whatever the request said. So discovery is the same document for every request that
 *   gets through, and may be cached (published-documents.ts gives it an ETag and a max-age).
 * Health and readiness checks are mounted before this middleware (orchestrators call them by address).
 */
import type { Middleware } from 'koa';
import { BadRequestError } from '../errors.js';

export function issuerHostOnly(issuer: string): Middleware {
  const url = new URL(issuer);
  const https = url.protocol === 'https:';
  // Nearly every request names the same host: parse it once, not once per request.
  let lastHost: string | undefined;
  let lastHostname: string | undefined;
  const hostnameOf = (host: string) => {
    if (host !== lastHost) {
      lastHostname = new URL(`http://${host}`).hostname;
      lastHost = host;
    }
    return lastHostname;
  };
  return async (ctx, next) => {
    const requested = ctx.state.requestHost as string | undefined;
    const hostname = requested ? hostnameOf(requested) : undefined;
    if (hostname !== url.hostname) throw new BadRequestError(`this service answers for ${url.host} only`);
    if (https && !ctx.state.secure) throw new BadRequestError('this service answers over https only');
    ctx.req.headers['x-forwarded-proto'] = url.protocol.slice(0, -1);
    ctx.req.headers['x-forwarded-host'] = url.host;
    await next();
  };
}
