/**
 * Which request is being served, for code that runs inside it but is not handed its ctx (the storage
 * adapter, repositories). Rules:
 * - the scope is the koa ctx of the request, held in an AsyncLocalStorage for the whole request: our own
 *   pages as well as oidc-provider's routes (there oidc-provider's documented `Provider.ctx` is the same
 *   ctx, but it is set only inside its own routes);
 * - outside a request (timers, the CLI, start-up) there is no scope, and callers must behave as without one.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context, Middleware } from 'koa';

export interface RequestScope {
  /** Runs the rest of the request inside its scope; mount it early. */
  middleware: Middleware;
  /** The request being served, or undefined outside one. */
  current(): Context | undefined;
}

export function createRequestScope(): RequestScope {
  const storage = new AsyncLocalStorage<Context>();
  return {
    middleware: (ctx, next) => storage.run(ctx, next),
    current: () => storage.getStore(),
  };
}
