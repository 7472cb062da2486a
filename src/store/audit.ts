/**
 * The audit trail: one row per security-relevant event (logins, logouts, consent, tokens, password and
 * account changes, operator actions, client and key changes). Rules:
 * - every event names its actor: `user:<accountId>`, `client:<clientId>`, `cli` or `system`;
 * - every event is written to the database and, once stored, emitted as one JSON log line with
 *   `"audit": true` through the logger the log was built with, so a log pipeline can ship it;
 * - details are plain facts for an operator; secret-shaped fields (passwords, codes, tokens, secrets) are
 *   dropped, and a national identity number is never kept in clear: an identifier field, and any value
 *   shaped like an 11- or 12-digit number, is replaced by a keyed hash (HMAC-SHA256 under an instance
 *   secret) so events about one person still correlate;
 * - an event may be written inside the caller's transaction, so it commits (or not) with what it records;
 *   its log line is emitted only when that transaction commits;
 * - events are group-committed (issue 13): the first starts an insert at once, and those that arrive
 *   while it is in flight go in the next one, one multi-row statement of at most BATCH_ROWS, in the order
 *   they were recorded. Nothing waits on a timer, so a lone event is stored as soon as before, and under
 *   load N events cost one statement instead of N. record() still resolves only once its own row is
 *   stored (and rejects if that insert failed), so a login or an operator's change is recorded before it
 *   is answered, as before; an event in a caller's transaction is inserted in it, alone;
 * - inside a request on PostgreSQL (the adapter's request scope) an event instead joins the request's
 *   kept writes (deferred-writes.ts): it is stored in the one statement that stores the request's rows,
 *   the ones it records among them, before the request is answered, and its log line follows. record()
 *   resolves once it is kept; if that statement fails, the request fails (503) and nothing is recorded;
 * - events recorded in the background (oidc-provider's, which no one can await: a token response has
 *   already gone when they are stored, with or without batching) make no one wait: at most QUEUE_LIMIT of
 *   them wait for the database (a database that hangs must not grow memory without bound); past it an
 *   event is dropped and counted, and the count is logged as a warning, like an insert that failed.
 *   settled() waits for the queue too (shutdown flushes it);
 * - events older than the audit retention period are purged in batches of at most PURGE_BATCH rows per
 *   statement, so a first purge of a large backlog never holds one huge delete (locks, WAL, replication).
 * Reading: queryAudit (filters, newest first, an opaque id cursor) and exportAudit (NDJSON, oldest first)
 * in audit-query.ts, re-exported here.
 */
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Database } from './db.js';
import { createDeferredWrites } from './deferred-writes.js';
import { compiledStatements } from './compiled-statements.js';

import { exportAudit, queryAudit, type AuditFilters, type AuditPage } from './audit-query.js';

export { queryAudit, exportAudit, type AuditFilters, type AuditPage, type AuditRecord } from './audit-query.js';

export const PURGE_BATCH = 10_000;
/** The most events one insert stores. */
export const BATCH_ROWS = 500;
/** The most background events that may wait for the database (see the header). */
export const QUEUE_LIMIT = 10_000;
const DAY_MS = 24 * 3600 * 1000;
/** The instance secret (instance_secrets) the identifier hashes are keyed with. */
export const AUDIT_HASH_SECRET = 'AUDIT_HMAC_KEY';

export type AuditActor = `user:${string}` | `client:${string}` | 'cli' | 'system';
export type AuditDetail = Record<string, string | number | boolean>;

export interface AuditEvent {
  event: string;
  outcome: 'success' | 'failure';
  /** Who acted; by default the log's own actor, else the account, else the client, else `system`. */
  actor?: AuditActor | undefined;
  accountId?: string | undefined;
  clientId?: string | undefined;
  ip?: string | undefined;
  requestId?: string | undefined;
  detail?: AuditDetail | undefined;
}

/** The event names recorded across the service; the admin API and log pipelines may rely on them. */
export const AUDIT_EVENTS = {
  logoutRp: 'logout.rp',
  logoutTimeout: 'logout.timeout',
  logoutAdmin: 'logout.admin',
  consentGranted: 'consent.granted',
  consentRevoked: 'consent.revoked',
  tokenIssued: 'token.issued',
  refreshReuse: 'token.refresh_reuse',
  passwordChanged: 'password.changed',
  accountCreated: 'account.created',
  accountChanged: 'account.changed',
  accountDisabled: 'account.disabled',
  accountDeleted: 'account.deleted',
  clientAdded: 'client.added',
  clientChanged: 'client.changed',
  clientDeleted: 'client.deleted',
  keyCreated: 'key.created',
  keyRotated: 'key.rotated',
  keyRevoked: 'key.revoked',
  keyPurged: 'key.purged',
  keysRewrapped: 'key.rewrapped',
  auditPurged: 'audit.purged',
  auditExported: 'audit.exported',
} as const;

export interface AuditLogOptions {
  /** Where each stored event is emitted as a JSON line with `"audit": true`. */
  logger?: Logger;
  /** The instance secret identifier hashes are keyed with (see AUDIT_HASH_SECRET). */
  hashKey?: string;
  /** The actor of every event this log records unless the event names one (the CLI: `cli`). */
  actor?: AuditActor;
  /** How many background events may wait for the database (QUEUE_LIMIT; smaller in tests). */
  queueLimit?: number;
}

/** Fields that only ever hold secrets: never stored, whatever a caller passes. */
const SECRET_DETAIL = /pass(word)?|secret|token|code|otp|cookie|csrf|assertion|verifier|authorization|hash$/i;
/** Fields that name a person by a national or upstream identifier: stored only as a keyed hash. */
const IDENTIFIER_DETAIL = /^(national_?id|nationalIdentityNumber|pid|personnummer|ssn|subject|upstream_?subject)$/i;
/** A fødselsnummer / D-number has 11 digits, a personnummer 12 (or 10 with a separator). */
const ID_NUMBER = /(?<!\d)(\d{6}[-+]?\d{4,6})(?!\d)/;

/** The columns of an audit row, as prepare() sets every one of them. */
const AUDIT_COLUMNS = ['at', 'event', 'outcome', 'actor', 'account_id', 'client_id', 'ip', 'request_id', 'detail'] as const;
type AuditRow = Record<(typeof AUDIT_COLUMNS)[number], string | number | null>;

/** Numbers the events kept with a request, unique in the process (two logs on one database never collide). */
let keptEvents = 0;

export function createAuditLog(db: Database, clock: Clock, options: AuditLogOptions = {}) {
  const { logger } = options;
  // Without an instance secret (a bare store test), the hash still hides the number; it just cannot be
  // recomputed by another instance. The service and the CLI always pass the stored secret.
  const hashKey = options.hashKey ?? crypto.randomBytes(32).toString('hex');
  const pending = new Set<Promise<unknown>>();
  const deferred = createDeferredWrites(db);
  const queueLimit = options.queueLimit ?? QUEUE_LIMIT;

  /** A keyed hash of an identifier: the same person correlates, the number cannot be read back. */
  function identifierHash(value: string): string {
    return `hmac:${crypto.createHmac('sha256', hashKey).update(value).digest('hex').slice(0, 32)}`;
  }

  function clean(detail: AuditDetail | undefined): AuditDetail | undefined {
    if (!detail) return undefined;
    const out: AuditDetail = {};
    for (const [key, value] of Object.entries(detail)) {
      if (IDENTIFIER_DETAIL.test(key)) out[key] = identifierHash(String(value));
      else if (SECRET_DETAIL.test(key)) continue;
      else if (typeof value === 'string' && ID_NUMBER.test(value)) out[key] = value.replace(new RegExp(ID_NUMBER, 'g'), (n) => identifierHash(n.replace(/[-+]/, '')));
      else out[key] = value;
    }
    return out;
  }

  const actorOf = (e: AuditEvent): AuditActor =>
    e.actor ?? options.actor ?? (e.accountId ? `user:${e.accountId}` : e.clientId ? `client:${e.clientId}` : 'system');

  function emit(line: Record<string, unknown>): void {
    logger?.info({ audit: true, ...line }, `audit ${String(line.event)}`);
  }

  type Row = Record<string, string | number | null>;
  /** One event's insert, compiled once (compiled-statements.ts): it joins most requests' kept writes. */
  const inserts = compiledStatements<AuditRow>(db.knex, AUDIT_COLUMNS);
  type Line = Record<string, unknown>;

  /** The stored row and the log line of an event, both free of secrets and identifiers. */
  function prepare(e: AuditEvent): { row: Row; line: Line } {
    const detail = clean(e.detail);
    const row = {
      at: clock.now(),
      event: e.event,
      outcome: e.outcome,
      actor: actorOf(e),
      account_id: e.accountId ?? null,
      client_id: e.clientId ?? null,
      ip: e.ip ?? null,
      request_id: e.requestId || null,
      detail: detail ? JSON.stringify(detail) : null,
    };
    const line = {
      at: new Date(row.at).toISOString(),
      event: row.event,
      outcome: row.outcome,
      actor: row.actor,
      ...(e.accountId ? { accountId: e.accountId } : {}),
      ...(e.clientId ? { clientId: e.clientId } : {}),
      ...(e.ip ? { ip: e.ip } : {}),
      ...(e.requestId ? { reqId: e.requestId } : {}),
      ...(detail ? { detail } : {}),
    };
    return { row, line };
  }

  /**
   * Inside a request on PostgreSQL the event joins the request's kept writes (deferred-writes.ts): stored
   * in the statement that stores what it records, before the request is answered, and logged then.
   */
  const keptWithRequest = (row: Row, line: Line): boolean =>
    deferred.keepInsert({
      model: 'audit_events',
      id: String((keptEvents += 1)),
      statement: () => inserts.statement('insert', (p) => db.knex('audit_events').insert(p), row as AuditRow),
      onStored: () => emit(line),
    });

  /** Tracks a write so settled() waits for it. */
  async function tracked(write: Promise<void>): Promise<void> {
    pending.add(write);
    try {
      await write;
    } finally {
      pending.delete(write);
    }
  }

  interface Queued {
    row: Row;
    line: Line;
    /** Set for record(): the caller waits for its own row. */
    done?: { resolve(): void; reject(err: unknown): void };
  }
  const queue: Queued[] = [];
  let flushing = false;
  let dropped = 0;
  let backgroundQueued = 0;

  /** Stores the queued events, BATCH_ROWS per statement, until the queue is empty (one flusher at a time). */
  async function flush(): Promise<void> {
    flushing = true;
    try {
      while (queue.length) {
        const batch = queue.splice(0, BATCH_ROWS);
        for (const b of batch) if (!b.done) backgroundQueued -= 1;
        try {
          await db.knex('audit_events').insert(batch.map((b) => b.row));
        } catch (err) {
          for (const b of batch) b.done?.reject(err);
          const unawaited = batch.filter((b) => !b.done);
          if (unawaited.length) logger?.warn({ err, events: unawaited.map((b) => b.row.event) }, `${unawaited.length} audit event(s) could not be stored`);
          continue;
        }
        for (const b of batch) {
          emit(b.line);
          b.done?.resolve();
        }
      }
    } finally {
      flushing = false;
      if (dropped) {
        logger?.warn({ dropped }, `${dropped} audit event(s) dropped: more than ${queueLimit} were waiting for the database`);
        dropped = 0;
      }
    }
  }

  function enqueue(entry: Queued): void {
    queue.push(entry);
    // The flusher in flight takes this event in its next statement; otherwise start one now.
    if (!flushing) void tracked(flush());
  }

  /** Stores one event; resolves once its row is stored (see the header for batching). */
  async function record(e: AuditEvent, trx?: Knex.Transaction): Promise<void> {
    const { row, line } = prepare(e);
    if (!trx && keptWithRequest(row, line)) return;
    if (trx) {
      await tracked(
        (async () => {
          await trx('audit_events').insert(row);
          // Inside a transaction the event exists only once it commits; a rollback emits nothing.
          void trx.executionPromise.then(() => emit(line), () => undefined);
        })(),
      );
      return;
    }
    await new Promise<void>((resolve, reject) => enqueue({ row, line, done: { resolve, reject } }));
  }

  /**
   * Records without making the caller wait or fail (oidc-provider's events, which cannot be awaited):
   * group-committed (see the header); a failed write is logged as a warning; settled() waits for it.
   */
  function recordInBackground(e: AuditEvent): void {
    const entry = prepare(e);
    if (keptWithRequest(entry.row, entry.line)) return;
    if (backgroundQueued >= queueLimit) {
      dropped += 1;
      return;
    }
    backgroundQueued += 1;
    enqueue(entry);
  }

  /** Resolves when every write started so far has finished (shutdown; readers that must see them). */
  async function settled(): Promise<void> {
    while (pending.size) await Promise.allSettled([...pending]);
  }

  async function recent(limit = 50) {
    return (await queryAudit(db, {}, { limit })).events;
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

  return {
    record,
    recordInBackground,
    settled,
    identifierHash,
    recent,
    purgeOlderThan,
    /** queryAudit on this log's database: `audit.query(filters, page)`. */
    query: (filters: AuditFilters, page?: AuditPage) => queryAudit(db, filters, page),
    /** exportAudit on this log's database: `audit.export(filters, writeLine)`. */
    export: (filters: AuditFilters, writeLine: (line: string) => void | Promise<void>) => exportAudit(db, filters, writeLine),
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
