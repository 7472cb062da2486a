/**
 * Outermost middleware: gives every request an id (a sane incoming X-Request-Id, else a new one),
 * echoes it back, and writes one access log line at info with the path only — the query string
 * carries codes and state, which must not reach a log.
 * Cost: the request's child logger (`ctx.state.log`, bound to the id) is made only when something
 * logs through it; the access line goes through the root logger with the id as a field (the same
 * JSON), so a request that logs nothing else makes no logger at all.
 */
import crypto from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../logger.js';

const SAFE_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function requestContext(logger: Logger): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = incoming !== '' && SAFE_ID.test(incoming) ? incoming : crypto.randomUUID();
    ctx.state.requestId = requestId;
    let child: Logger | undefined;
    Object.defineProperty(ctx.state, 'log', {
      configurable: true,
      enumerable: true,
      get: () => (child ??= logger.child({ reqId: requestId })),
      set: (replacement: Logger) => {
        child = replacement;
      },
    });
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info({ reqId: requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
    }
  };
}
