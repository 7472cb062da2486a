/**
 * The back-channel logout outbox table. Rules:
 * - a row is claimed for delivery by moving its next_attempt_at forward with a conditional update that
 *   names the value it saw: of several instances, exactly one wins each attempt;
 * - the logout token is stored (it must survive a restart) but never returned to a log;
 * - a delivered or expired row is deleted.
 */
import crypto from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Database } from './db.js';

const TABLE = 'backchannel_outbox';

export interface OutboxEntry {
  id: string;
  clientId: string;
  url: string;
  logoutToken: string;
  attempts: number;
  expiresAt: number;
}

interface Row {
  id: string;
  client_id: string;
  url: string;
  logout_token: string;
  attempts: number | string;
  next_attempt_at: number | string;
  expires_at: number | string;
}

const entryOf = (r: Row): OutboxEntry => ({
  id: r.id,
  clientId: r.client_id,
  url: r.url,
  logoutToken: r.logout_token,
  attempts: Number(r.attempts),
  expiresAt: Number(r.expires_at),
});

export interface BackchannelOutbox {
  /** Stores a logout token, already claimed by the caller until `leaseUntil` (it sends it at once). */
  enqueueClaimed(entry: { clientId: string; url: string; logoutToken: string; expiresAt: number }, leaseUntil: number): Promise<OutboxEntry>;
  /** Claims up to `limit` rows that are due, each until `leaseUntil`. */
  claimDue(limit: number, leaseUntil: number): Promise<OutboxEntry[]>;
  delivered(id: string): Promise<void>;
  retryAt(id: string, attempts: number, nextAttemptAt: number, lastError: string): Promise<void>;
  pendingCount(): Promise<number>;
}

export function createBackchannelOutbox(db: Database, clock: Clock): BackchannelOutbox {
  const { knex } = db;
  return {
    async enqueueClaimed(entry, leaseUntil) {
      const id = crypto.randomBytes(16).toString('base64url');
      await knex(TABLE).insert({
        id,
        client_id: entry.clientId,
        url: entry.url,
        logout_token: entry.logoutToken,
        attempts: 0,
        next_attempt_at: leaseUntil,
        expires_at: entry.expiresAt,
        created_at: clock.now(),
      });
      return { id, clientId: entry.clientId, url: entry.url, logoutToken: entry.logoutToken, attempts: 0, expiresAt: entry.expiresAt };
    },

    async claimDue(limit, leaseUntil) {
      const due = (await knex(TABLE).where('next_attempt_at', '<=', clock.now()).orderBy('next_attempt_at').limit(limit)) as Row[];
      const claimed: OutboxEntry[] = [];
      for (const row of due) {
        const won = await knex(TABLE).where({ id: row.id, next_attempt_at: row.next_attempt_at }).update({ next_attempt_at: leaseUntil });
        if (won === 1) claimed.push(entryOf(row));
      }
      return claimed;
    },

    async delivered(id) {
      await knex(TABLE).where({ id }).del();
    },

    async retryAt(id, attempts, nextAttemptAt, lastError) {
      await knex(TABLE).where({ id }).update({ attempts, next_attempt_at: nextAttemptAt, last_error: lastError.slice(0, 500) });
    },

    async pendingCount() {
      const row = (await knex(TABLE).count({ n: '*' }).first()) as { n: number | string } | undefined;
      return Number(row?.n ?? 0);
    },
  };
}
