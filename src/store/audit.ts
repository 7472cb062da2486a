/**
 * The audit trail: one row per security-relevant event (login success and failure, ...). Rules:
 * - details are plain facts for an operator; never a password, code, token or national identity number;
 * - an event may be written inside the caller's transaction, so it commits (or not) with what it records;
 * - events older than the audit retention period are purged in batches of at most PURGE_BATCH rows per
 *   statement, so a first purge of a large backlog never holds one huge delete (locks, WAL, replication).
 */
import type { Knex } from 'knex';
import type { Clock } from '../clock.js';
import type { Database } from './db.js';

export const PURGE_BATCH = 10_000;
const DAY_MS = 24 * 3600 * 1000;

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
  async function record(e: AuditEvent, trx?: Knex.Transaction): Promise<void> {
    await (trx ?? db.knex)('audit_events').insert({
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

  /** Deletes events older than `retentionDays`, PURGE_BATCH rows per statement; returns how many went. */
  async function purgeOlderThan(retentionDays: number): Promise<number> {
    const cutoff = clock.now() - retentionDays * DAY_MS;
    let total = 0;
    for (;;) {
      // Each pass removes only rows older than the cutoff, which no new event can join: the loop ends.
      const oldest = db.knex('audit_events').select('id').where('at', '<', cutoff).orderBy('id').limit(PURGE_BATCH);
      const n = await db.knex('audit_events').whereIn('id', oldest).del();
      total += n;
      if (n < PURGE_BATCH) return total;
    }
  }

  return { record, recent, purgeOlderThan };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
