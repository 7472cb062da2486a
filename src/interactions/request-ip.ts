/**
 * The address a request came from, for rate limits and the audit trail. Rule: the client address the
 * trusted-proxy handling settled on (`ctx.state.clientIp`) when there is one, else koa's `ctx.ip`.
 */
import type { Context } from 'koa';

export function requestIp(ctx: Pick<Context, 'ip' | 'state'>): string {
  const settled = (ctx.state as { clientIp?: unknown }).clientIp;
  return typeof settled === 'string' && settled !== '' ? settled : ctx.ip;
}
