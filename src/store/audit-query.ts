/**
 * Reading the audit trail, for the CLI's `audit export` and the admin API. Rules:
 * - filters: account, client, actor, event (exact, or a prefix ending in `*`, e.g. `login.*`), outcome
 *   and a time range [since, until) in epoch milliseconds; every filter is a bound parameter;
 * - queryAudit pages newest first with an opaque cursor (the last id seen), so a page is stable while
 *   new events arrive; a page holds at most MAX_PAGE events;
 * - exportAudit walks oldest first in batches of EXPORT_BATCH by id, one JSON object per line, and
 *   waits for each line to be written (back-pressure) before reading the next batch.
 */
import type { Knex } from 'knex';
import type { Database } from './db.js';

export const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;
const EXPORT_BATCH = 500;

export interface AuditFilters {
  accountId?: string | undefined;
  clientId?: string | undefined;
  actor?: string | undefined;
  event?: string | undefined;
  outcome?: 'success' | 'failure' | undefined;
  /** Epoch ms, inclusive. */
  since?: number | undefined;
  /** Epoch ms, exclusive. */
  until?: number | undefined;
}

export interface AuditPage {
  limit?: number | undefined;
  /** The `nextCursor` of the previous page. */
  cursor?: string | undefined;
}

export interface AuditRecord {
  id: number;
  at: number;
  event: string;
  outcome: 'success' | 'failure';
  actor?: string | undefined;
  accountId?: string | undefined;
  clientId?: string | undefined;
  ip?: string | undefined;
  requestId?: string | undefined;
  detail?: Record<string, string | number | boolean> | undefined;
}

export class AuditCursorError extends Error {
  constructor() {
    super('the audit cursor is not one this service handed out');
    this.name = 'AuditCursorError';
  }
}

const encodeCursor = (id: number) => Buffer.from(`a:${id}`).toString('base64url');
function decodeCursor(cursor: string): number {
  const m = /^a:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new AuditCursorError();
  return Number(m[1]);
}

function applyFilters(q: Knex.QueryBuilder, f: AuditFilters): Knex.QueryBuilder {
  if (f.accountId) q.where('account_id', f.accountId);
  if (f.clientId) q.where('client_id', f.clientId);
  if (f.actor) q.where('actor', f.actor);
  if (f.outcome) q.where('outcome', f.outcome);
  if (f.event?.endsWith('*')) {
    // A prefix: LIKE's own wildcards in the name are escaped so `login_x*` means what it says.
    const prefix = f.event.slice(0, -1).replace(/[\\%_]/g, (c) => `\\${c}`);
    q.whereRaw(`event like ? escape '\\'`, [`${prefix}%`]);
  } else if (f.event) q.where('event', f.event);
  if (f.since !== undefined) q.where('at', '>=', f.since);
  if (f.until !== undefined) q.where('at', '<', f.until);
  return q;
}

function toRecord(r: Record<string, unknown>): AuditRecord {
  return {
    id: Number(r.id),
    at: Number(r.at),
    event: String(r.event),
    outcome: r.outcome as AuditRecord['outcome'],
    actor: (r.actor as string | null) ?? undefined,
    accountId: (r.account_id as string | null) ?? undefined,
    clientId: (r.client_id as string | null) ?? undefined,
    ip: (r.ip as string | null) ?? undefined,
    requestId: (r.request_id as string | null) ?? undefined,
    detail: r.detail ? (JSON.parse(String(r.detail)) as AuditRecord['detail']) : undefined,
  };
}

/** One page of events, newest first; `nextCursor` is absent on the last page. */
export async function queryAudit(db: Database, filters: AuditFilters, page: AuditPage = {}): Promise<{ events: AuditRecord[]; nextCursor?: string }> {
  const limit = Math.min(Math.max(1, Math.floor(page.limit ?? DEFAULT_PAGE)), MAX_PAGE);
  const q = applyFilters(db.knex('audit_events').select('*'), filters);
  if (page.cursor) q.where('id', '<', decodeCursor(page.cursor));
  // One row more than asked says whether another page exists without a count query.
  const rows = (await q.orderBy('id', 'desc').limit(limit + 1)) as Array<Record<string, unknown>>;
  const events = rows.slice(0, limit).map(toRecord);
  return rows.length > limit ? { events, nextCursor: encodeCursor(events[events.length - 1]!.id) } : { events };
}

/** The line an export writes for one event: its stored fields, the time as ISO 8601 too. */
export const auditLine = (e: AuditRecord) => JSON.stringify({ ...e, time: new Date(e.at).toISOString() });

/** Writes every matching event, oldest first, as NDJSON lines through `writeLine`; returns how many. */
export async function exportAudit(db: Database, filters: AuditFilters, writeLine: (line: string) => void | Promise<void>): Promise<number> {
  let after = 0;
  let total = 0;
  for (;;) {
    const rows = (await applyFilters(db.knex('audit_events').select('*'), filters).where('id', '>', after).orderBy('id', 'asc').limit(EXPORT_BATCH)) as Array<Record<string, unknown>>;
    for (const row of rows) {
      const e = toRecord(row);
      await writeLine(auditLine(e));
      after = e.id;
      total += 1;
    }
    if (rows.length < EXPORT_BATCH) return total;
  }
}
