/**
 * The audit trail through the admin API: a paginated query and an NDJSON export, over the same store
 * functions as `audit export` (src/store/audit-query.ts). Rules: filters are validated and a bad one is a
 * problem naming its field; pages are newest first with an opaque cursor, the export oldest first; the
 * export streams, so a large trail is never held in memory; every call is itself audited.
 */
import { PassThrough } from 'node:stream';
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Database } from '../store/db.js';
import type { AuditLog } from '../store/audit.js';
import { AuditCursorError, exportAudit, queryAudit, type AuditFilters } from '../store/audit-query.js';
import { sendProblem } from './problem.js';
import { adminAuditRecorder } from './audit-record.js';
import type { FieldProblem } from './clients-service.js';

export interface AuditRoutesDeps {
  db: Database;
  audit: AuditLog;
}

const OUTCOMES = new Set(['success', 'failure']);

/** The query string as filters, or the problems with it (each naming its parameter). */
export function auditFiltersOf(query: Record<string, unknown>): { filters: AuditFilters; limit?: number; cursor?: string; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const text = (name: string, max = 255): string | undefined => {
    const v = query[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length === 0 || v.length > max) {
      problems.push({ field: name, message: `must be one non-empty value of at most ${max} characters` });
      return undefined;
    }
    return v;
  };
  const time = (name: string): number | undefined => {
    const v = text(name, 40);
    if (v === undefined) return undefined;
    const ms = /^\d{1,15}$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isFinite(ms)) problems.push({ field: name, message: 'must be an ISO 8601 time (2026-12-01T00:00:00Z) or epoch milliseconds' });
    return Number.isFinite(ms) ? ms : undefined;
  };
  const outcome = text('outcome', 16);
  if (outcome !== undefined && !OUTCOMES.has(outcome)) problems.push({ field: 'outcome', message: 'must be success or failure' });
  const limitText = text('limit', 4);
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 1000)) problems.push({ field: 'limit', message: 'must be a whole number from 1 to 1000' });
  const filters: AuditFilters = {
    accountId: text('account'),
    clientId: text('client'),
    actor: text('actor'),
    event: text('event', 128),
    outcome: outcome as AuditFilters['outcome'],
    since: time('since'),
    until: time('until'),
  };
  const cursor = text('cursor', 64);
  return { filters, ...(limit !== undefined ? { limit } : {}), ...(cursor !== undefined ? { cursor } : {}), problems };
}

export function addAuditRoutes(router: Router, guard: Middleware, deps: AuditRoutesDeps): void {
  const { db, audit } = deps;
  const record = adminAuditRecorder(audit, 'audit');
  const invalid = (ctx: Context, problems: FieldProblem[]) => sendProblem(ctx, 400, 'invalid-audit-filter', 'Invalid audit filter', 'one or more query parameters are not valid', problems);

  router.get('/audit', guard, async (ctx) => {
    const { filters, limit, cursor, problems } = auditFiltersOf(ctx.query);
    if (problems.length) return invalid(ctx, problems);
    try {
      const page = await queryAudit(db, filters, { ...(limit ? { limit } : {}), ...(cursor ? { cursor } : {}) });
      await record(ctx, 'queried', { count: page.events.length });
      ctx.body = { events: page.events.map((e) => ({ ...e, time: new Date(e.at).toISOString() })), ...(page.nextCursor ? { next_cursor: page.nextCursor } : {}) };
    } catch (err) {
      if (err instanceof AuditCursorError) return invalid(ctx, [{ field: 'cursor', message: 'is not a cursor this API handed out' }]);
      throw err;
    }
  });

  router.get('/audit/export', guard, async (ctx) => {
    const { filters, problems } = auditFiltersOf(ctx.query);
    if (problems.length) return invalid(ctx, problems);
    await record(ctx, 'exported', {});
    const stream = new PassThrough();
    ctx.type = 'application/x-ndjson';
    ctx.body = stream;
    // Written line by line, waiting when the client reads slowly, so memory stays flat.
    void exportAudit(db, filters, (line) =>
      stream.write(`${line}\n`) ? undefined : new Promise<void>((resolve) => stream.once('drain', () => resolve())),
    ).then(
      () => stream.end(),
      (err: unknown) => stream.destroy(err instanceof Error ? err : new Error(String(err))),
    );
  });
}
