/**
 * Outermost middleware: gives every request an id (a sane incoming X-Request-Id, else a new one),
 * echoes it back, and writes one access log line with the path only — the query string carries codes
 * and state, which must not reach a log.
 */
import crypto from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../logger.js';

const SAFE_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function requestContext(logger: Logger): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = SAFE_ID.test(incoming) ? incoming : crypto.randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ reqId: requestId });
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const status = ctx.status;
      ctx.state.log.info({ method: ctx.method, path: ctx.path, status, ms: Math.round(ms * 10) / 10 }, 'request');
    }
  };
}
