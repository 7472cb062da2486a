/**
 * Ended login sessions in the store. Rules:
 * - an expired Session row is claimed by deleting it with RETURNING: of two instances sweeping at once,
 *   exactly one gets each row, so each ended session is handled (its relying parties told) once;
 * - a claimed session leaves a small record of why it ended (`EndedSession`, an expiring oidc_payloads
 *   row), so a browser that comes back with the old session cookie can be told why it must log in again;
 * - until it is claimed, the reason is read from the expired row itself;
 * - a reason can be carried over to the id that replaced the session in the browser (see session-policy.ts).
 * Expiry is decided by expires_at against the injected clock, as the oidc-provider adapter decides it.
 */
import type { Clock } from '../clock.js';
import { endReason, isSessionEnd, type SessionEnd, type SessionPolicy, type SessionTimes } from '../policies/session.js';
import type { Database } from './db.js';
import { createAdapterClass } from './oidc-adapter.js';
import { flushRequestWrites } from './deferred-writes.js';

const TABLE = 'oidc_payloads';
const MODEL = 'Session';
/** How long the reason is kept after the sweep at least: a browser may come back the next morning. */
const MIN_RECORD_SECONDS = 24 * 3600;

/** What oidc-provider stores for a Session (the fields the sweeper and the note need). */
export interface EndedSessionPayload extends SessionTimes {
  jti?: string;
  uid?: string;
  accountId?: string;
  authorizations?: Record<string, { sid?: string; grantId?: string; persistsLogout?: boolean } | undefined>;
}

export interface ClaimedSession {
  id: string;
  payload: EndedSessionPayload;
  reason: SessionEnd;
}

export interface SessionEndings {
  /** Deletes up to `limit` expired sessions and returns them; each row is returned to one caller only. */
  claimExpired(limit: number): Promise<ClaimedSession[]>;
  /** Why the session with this id (its cookie value) ended, or undefined when it did not (or is unknown). */
  reasonFor(id: string): Promise<SessionEnd | undefined>;
  /** Hands an ended session's reason on to the session id that replaced it in the browser, for `seconds`. */
  carryOver(id: string, reason: SessionEnd, seconds: number): Promise<void>;
}

export function createSessionEndings(db: Database, clock: Clock, policy: SessionPolicy): SessionEndings {
  const { knex } = db;
  const records = new (createAdapterClass(db, clock))('EndedSession');
  const recordSeconds = Math.max(policy.maxLifetimeSeconds, MIN_RECORD_SECONDS);

  return {
    async claimExpired(limit) {
      await flushRequestWrites(knex);
      const now = clock.now();
      // DELETE … RETURNING on both dialects (knex's SQLite dialect drops .returning() on delete). The
      // batch is picked from the index of Session rows' expiry (migration 007: the model is a literal so
      // both planners match it) and deleted by row address (ctid, rowid), so a batch costs its own rows.
      // On PostgreSQL a row another instance deleted first is skipped, not returned twice, and so is one
      // renewed meanwhile: its new version has another ctid.
      const address = db.dialect === 'postgres' ? 'ctid' : 'rowid';
      const chosen = `select ${address} from ${TABLE} where model = '${MODEL}' and expires_at <= ? order by expires_at limit ?`;
      const result = (await knex.raw(
        `delete from ${TABLE} where ${db.dialect === 'postgres' ? `ctid = any(array(${chosen}))` : `rowid in (${chosen})`} returning id, payload`,
        [now, limit],
      )) as Array<{ id: string; payload: string }> | { rows: Array<{ id: string; payload: string }> };
      const rows = Array.isArray(result) ? result : result.rows;
      const claimed: ClaimedSession[] = [];
      for (const row of rows) {
        const payload = JSON.parse(row.payload) as EndedSessionPayload;
        const reason = endReason(policy, payload);
        // A session nobody logged in to needs no note.
        if (payload.accountId) await records.upsert(row.id, { reason }, recordSeconds);
        claimed.push({ id: row.id, payload, reason });
      }
      return claimed;
    },

    async carryOver(id, reason, seconds) {
      await records.upsert(id, { reason }, seconds);
    },

    async reasonFor(id) {
      const recorded = await records.find(id);
      if (recorded) return isSessionEnd(recorded.reason) ? recorded.reason : undefined;
      await flushRequestWrites(knex); // a Session this request saved or deleted, as stored
      const row = (await knex(TABLE)
        .select('payload')
        .where({ model: MODEL, id })
        .andWhere('expires_at', '<=', clock.now())
        .first()) as { payload: string } | undefined;
      if (!row) return undefined;
      const payload = JSON.parse(row.payload) as EndedSessionPayload;
      return payload.accountId ? endReason(policy, payload) : undefined;
    },
  };
}
