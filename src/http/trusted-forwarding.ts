/**
 * Runs once per request, before anything reads the client's address: decides it from the socket and
 * trusted proxies only (client-address.ts) and makes koa and oidc-provider see exactly that. Rules:
 * - ctx.state.clientIp, ctx.state.secure and ctx.state.requestHost are set here and nowhere else, and
 *   ctx.request.ip is the same address, so every per-IP limit, the audit log and BankID's endUserIp agree;
 * - X-Forwarded-For/-Proto/-Host are replaced by the validated values (or removed): the app runs with
 *   koa's `proxy` on so that oidc-provider sees https from a trusted proxy, and that is safe only
 *   because nothing of what an untrusted client sent in those headers survives this middleware;
 * - a malformed or overlong header is a 400 (BadRequestError), never a 500, and is not logged or stored.
 */
import type { Middleware } from 'koa';
import { BadRequestError } from '../errors.js';
import { resolveRequest, type ProxyTrust } from './client-address.js';

const FORWARDED = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host'] as const;

/** A header node saw more than once is joined with ", " (X-Forwarded-*) or kept as its first copy (Host). */
function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

export function trustedForwarding(trusts: ProxyTrust): Middleware {
  return async (ctx, next) => {
    const headers = ctx.req.headers;
    const resolved = resolveRequest(
      {
        peer: ctx.req.socket.remoteAddress,
        encrypted: Boolean((ctx.req.socket as { encrypted?: boolean }).encrypted),
        host: header(headers.host),
        forwardedFor: header(headers['x-forwarded-for']),
        forwardedProto: header(headers['x-forwarded-proto']),
        forwardedHost: header(headers['x-forwarded-host']),
      },
      trusts,
    );
    // Only what is there: deleting a property turns node's headers object into a slow dictionary for every later read.
    for (const name of FORWARDED) if (headers[name] !== undefined) delete headers[name];
    if (!resolved.ok) throw new BadRequestError(resolved.problem);
    headers['x-forwarded-for'] = resolved.clientIp;
    headers['x-forwarded-proto'] = resolved.secure ? 'https' : 'http';
    if (resolved.host) headers['x-forwarded-host'] = resolved.host;
    ctx.request.ip = resolved.clientIp;
    ctx.state.clientIp = resolved.clientIp;
    ctx.state.secure = resolved.secure;
    ctx.state.requestHost = resolved.host;
    await next();
  };
}
