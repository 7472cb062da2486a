/**
 * The admin API under /admin/api/v1 (JSON): clients here, signing keys (keys-routes.ts) and accounts
 * (accounts-routes.ts) beside them. Rules:
 * - every route but the OpenAPI document needs an admin token (auth.ts) and is rate-limited per admin client;
 * - bodies are JSON objects (at most the configured body limit); bad input is RFC 9457 problem JSON naming
 *   the field, an unknown client 404, an unavailable database 503 with Retry-After, never a bare 500 page;
 * - every call is audited: the service records what was done with the admin client's id; a refused or
 *   failed call is recorded here (admin.api.refused) with the admin client's id when it was known.
 */
import Router from '@koa/router';
import { koaBody } from 'koa-body';
import type { Context, Next } from 'koa';
import type { AuditLog } from '../store/audit.js';
import { isDatabaseUnavailable } from '../store/db-errors.js';
import { authenticateAdmin, type AdminAuthDeps } from './auth.js';
import { ClientInputError, ClientNotFoundError, type ClientsService } from './clients-service.js';
import { sendProblem } from './problem.js';
import { openApiDocument } from './openapi.js';
import { addKeyRoutes, type KeyRoutesDeps } from './keys-routes.js';
import { addAccountRoutes, type AccountRoutesDeps } from './accounts-routes.js';
import { addAuditRoutes } from './audit-routes.js';
import { UnknownKeyError } from '../store/signing-keys.js';

export const ADMIN_PREFIX = '/admin/api/v1';

export interface AdminRouterDeps extends AdminAuthDeps {
  clients: ClientsService;
  audit: AuditLog;
  issuer: string;
  bodyLimitBytes: number;
  retryAfterSeconds: number;
  keys: KeyRoutesDeps;
  accounts: AccountRoutesDeps;
}

export function createAdminRouter(deps: AdminRouterDeps): Router {
  const router = new Router({ prefix: ADMIN_PREFIX });
  const document = openApiDocument(deps.issuer);

  router.get('/openapi.json', (ctx) => {
    ctx.type = 'application/json';
    ctx.body = document;
  });

  const guard = async (ctx: Context, next: Next) => {
    ctx.set('Cache-Control', 'no-store');
    try {
      const adminId = await authenticateAdmin(ctx, deps);
      if (adminId) {
        ctx.state.adminClientId = adminId;
        await next();
      }
    } catch (err) {
      answerError(ctx, err, deps.retryAfterSeconds);
    }
    if (ctx.status >= 400) {
      await deps.audit
        .record({
          event: 'admin.api.refused',
          outcome: 'failure',
          clientId: ctx.state.adminClientId as string | undefined,
          ip: ctx.state.clientIp as string | undefined,
          requestId: ctx.state.requestId as string | undefined,
          detail: { method: ctx.method, path: ctx.path.slice(0, 200), status: ctx.status },
        })
        .catch((err: unknown) => (ctx.state.log as { warn?: (o: object, m: string) => void } | undefined)?.warn?.({ err }, 'admin audit failed'));
    }
  };
  const body = koaBody({ json: true, urlencoded: false, text: false, multipart: false, jsonLimit: deps.bodyLimitBytes, jsonStrict: true });
  const actor = (ctx: Context) => ({ kind: 'admin' as const, clientId: ctx.state.adminClientId as string, ip: ctx.state.clientIp as string | undefined, requestId: ctx.state.requestId as string | undefined });
  const jsonBody = (ctx: Context) => {
    if (!ctx.is('application/json')) throw new ClientInputError([{ field: 'body', message: 'must be sent as application/json' }]);
    return (ctx.request as { body?: unknown }).body;
  };

  router.get('/clients', guard, async (ctx) => {
    ctx.body = { clients: await deps.clients.list(actor(ctx)) };
  });
  router.post('/clients', guard, body, async (ctx) => {
    const { client, client_secret } = await deps.clients.create(jsonBody(ctx), actor(ctx));
    ctx.status = 201;
    ctx.set('Location', `${ADMIN_PREFIX}/clients/${encodeURIComponent(client.client_id)}`);
    ctx.body = { ...client, ...(client_secret ? { client_secret } : {}) };
  });
  router.get('/clients/:id', guard, async (ctx) => {
    ctx.body = await deps.clients.get(ctx.params.id!, actor(ctx));
  });
  router.put('/clients/:id', guard, body, async (ctx) => {
    const { client, client_secret } = await deps.clients.update(ctx.params.id!, jsonBody(ctx), actor(ctx));
    ctx.body = { ...client, ...(client_secret ? { client_secret } : {}) };
  });
  router.delete('/clients/:id', guard, async (ctx) => {
    await deps.clients.remove(ctx.params.id!, actor(ctx));
    ctx.status = 204;
  });
  router.post('/clients/:id/rotate-secret', guard, async (ctx) => {
    ctx.body = await deps.clients.rotateSecret(ctx.params.id!, actor(ctx));
  });

  addKeyRoutes(router, guard, deps.keys);
  addAccountRoutes(router, guard, body, deps.accounts);
  addAuditRoutes(router, guard, { db: deps.accounts.db, audit: deps.audit });

  // Anything else under the prefix is a problem too, not the HTML 404 page.
  router.all('/{*rest}', (ctx) => sendProblem(ctx, 404, 'not-found', 'Not Found', `no admin API route ${ctx.method} ${ctx.path.slice(0, 200)}`));
  return router;
}

function answerError(ctx: Context, err: unknown, retryAfterSeconds: number): void {
  if (err instanceof ClientInputError) return sendProblem(ctx, 400, 'invalid-client-metadata', 'Invalid client metadata', err.message, err.problems);
  if (err instanceof ClientNotFoundError) return sendProblem(ctx, 404, 'client-not-found', 'Not Found', err.message);
  if (err instanceof UnknownKeyError) return sendProblem(ctx, 404, 'key-not-found', 'Not Found', err.message);
  const status = (err as { status?: number }).status;
  // koa-body's refusals: malformed JSON (400), too large (413).
  if (status === 400 || status === 413) {
    return sendProblem(ctx, status, status === 413 ? 'too-large' : 'invalid-json', status === 413 ? 'Payload Too Large' : 'Invalid JSON', 'the body must be one JSON object', [{ field: 'body', message: status === 413 ? 'is too large' : 'is not valid JSON' }]);
  }
  if (isDatabaseUnavailable(err)) {
    ctx.set('Retry-After', String(retryAfterSeconds));
    return sendProblem(ctx, 503, 'unavailable', 'Service Unavailable', 'the database is unavailable, try again shortly');
  }
  (ctx.state.log as { error?: (o: object, m: string) => void } | undefined)?.error?.({ err }, 'admin API error');
  sendProblem(ctx, 500, 'internal', 'Internal Server Error');
}
