/**
 * The storage adapter's request scope: what one request keeps in the oidc-provider adapter, per
 * database (the mocks' providers share the process, not the scope). Rules:
 * - installed with the documented `provider.use` (every request oidc-provider serves) and on our
 *   interaction pages; outside it (sweepers, the CLI, start-up) nothing is kept and every write is sent
 *   at once;
 * - each part of the adapter keeps its own state here under its own key: the rows read with tokens and
 *   interactions (payload-reads.ts), the writes the request has not sent yet (deferred-writes.ts);
 * - when the request's handler is done, and before the answer leaves, every part that registered a
 *   closer runs it (the deferred writes are sent), in order. From then on the scope is closed: a write
 *   that something starts later (an event listener's callback) is sent at once, not kept for a flush
 *   that already happened;
 * - a closer that fails fails the request: its Location and Set-Cookie headers go (what they point to
 *   was not stored) and the error reaches the error handler, which answers a database that is away with
 *   503 and Retry-After (http/error-handler.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Knex } from 'knex';

interface Scope {
  parts: Map<Knex, Map<symbol, unknown>>;
  closers: Array<() => Promise<void>>;
  closed: boolean;
}

const storage = new AsyncLocalStorage<Scope>();

/** The part of this request's state that `key` names for this database, created on first use; undefined outside an open scope. */
export function scopePart<T>(knex: Knex, key: symbol, create: () => T, onClose?: (part: T) => Promise<void>): T | undefined {
  const scope = storage.getStore();
  if (!scope || scope.closed) return undefined;
  let parts = scope.parts.get(knex);
  if (!parts) scope.parts.set(knex, (parts = new Map()));
  if (parts.has(key)) return parts.get(key) as T;
  const part = create();
  parts.set(key, part);
  if (onClose) scope.closers.push(() => onClose(part));
  return part;
}

/** The part `key` names if this request has created it and its scope is still open; never creates one. */
export function existingScopePart<T>(knex: Knex, key: symbol): T | undefined {
  const scope = storage.getStore();
  return scope && !scope.closed ? (scope.parts.get(knex)?.get(key) as T | undefined) : undefined;
}

/** Whether a request scope is open here. */
export function inAdapterScope(): boolean {
  const scope = storage.getStore();
  return scope !== undefined && !scope.closed;
}

interface HeaderRemoval {
  remove?(field: string): void;
}

/** koa middleware: runs the rest of the request in its own adapter scope and closes it before the answer leaves. */
export function adapterRequestScope(ctx: unknown, next: () => Promise<unknown>): Promise<unknown> {
  const scope: Scope = { parts: new Map(), closers: [], closed: false };
  return storage.run(scope, async () => {
    let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, value: await next() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    // Also after a failed handler: what it did write must not be lost with its error.
    scope.closed = true;
    try {
      for (const close of scope.closers) await close();
    } catch (err) {
      const response = ctx as HeaderRemoval;
      response.remove?.('Location');
      response.remove?.('Set-Cookie');
      throw err;
    }
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  });
}
