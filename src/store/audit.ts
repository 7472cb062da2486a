/**
 * The audit trail: one row per security-relevant event (login success and failure, ...).
 * Rule: details are plain facts for an operator; never a password, code or token.
 */
import type { Clock } from '../clock.js';
import type { Database } from './db.js';

export interface AuditEvent {
  event: string;
  outcome: 'success' | 'failure';
  accountId?: string | undefined;
  clientId?: string | undefined;
  ip?: string | undefined;
  requestId?: string | undefined;
  detail?: Record<string, string | number | boolean> | undefined;
}

export function createAuditLog(db: Database, clock: Clock) {
  async function record(e: AuditEvent): Promise<void> {
    await db.knex('audit_events').insert({
      at: clock.now(),
      event: e.event,
      outcome: e.outcome,
      account_id: e.accountId ?? null,
      client_id: e.clientId ?? null,
      ip: e.ip ?? null,
      request_id: e.requestId ?? null,
      detail: e.detail ? JSON.stringify(e.detail) : null,
    });
  }

  async function recent(limit = 50): Promise<Array<AuditEvent & { at: number }>> {
    const rows = await db.knex('audit_events').orderBy('id', 'desc').limit(limit);
    return rows.map((r) => ({
      at: Number(r.at),
      event: r.event,
      outcome: r.outcome,
      accountId: r.account_id ?? undefined,
      clientId: r.client_id ?? undefined,
      ip: r.ip ?? undefined,
      requestId: r.request_id ?? undefined,
      detail: r.detail ? JSON.parse(r.detail) : undefined,
    }));
  }

  return { record, recent };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
