/**
 * Retention of accounts of every kind (DESIGN §2): e-mail accounts and federated ones (ID-porten,
 * BankID), which hold national identity numbers. Rules:
 * - an active account whose last login (or, never logged in, whose creation) is older than the
 *   retention period is deleted, oldest activity first, in batches, each in its own transaction; the
 *   query is one range of an index, so its cost follows the accounts due, not all accounts;
 * - the check is repeated inside the transaction with a conditional update, so a login that just
 *   happened keeps the account and two instances sweeping at once delete (and audit) it once;
 * - deletion leaves a tombstone that keeps only what guarantees its id — the `sub` — is never issued
 *   again: id, kind, status `deleted`, created/deleted times. The name and last login are cleared; the
 *   credentials (e-mail, hash) and the federated identity (broker, upstream subject = the national
 *   identity number, profile) go, which frees the address and the (broker, subject) pair, so the same
 *   person coming back gets a new account with a new `sub`;
 * - the account's sessions and tokens go in the same transaction, and so does its audit event.
 */
import type { Knex } from 'knex';
import type { Clock } from '../clock.js';
import type { AuditLog } from './audit.js';
import type { Database } from './db.js';
import { endAccountSessions } from './account-sessions.js';

const BATCH = 200;
const DAY_MS = 24 * 3600 * 1000;

export interface RetentionOptions {
  retentionDays: number;
  /** Only these kinds (e.g. `['local']`); every kind when absent. */
  kinds?: string[];
  /** When given, each deletion is written to the audit trail in the deleting transaction. */
  audit?: AuditLog;
}

/** Turns the account into a tombstone and removes everything personal that hangs off it. */
export async function tombstoneAccount(db: Database, trx: Knex.Transaction, accountId: string): Promise<void> {
  await trx('local_credentials').where({ account_id: accountId }).del();
  await trx('federated_identities').where({ account_id: accountId }).del();
  await endAccountSessions(db, trx, accountId);
}

/** Deletes inactive accounts to tombstones; returns the ids this call deleted. */
export async function deleteInactiveAccounts(db: Database, clock: Clock, options: RetentionOptions): Promise<string[]> {
  const { knex } = db;
  const now = clock.now();
  const cutoff = now - options.retentionDays * DAY_MS;
  // last_active_at is the last login, or the creation of an account that never logged in (a column the
  // database computes, migration 007): one range of the (status, last_active_at) index, oldest first.
  const stale = (q: Knex.QueryBuilder) => {
    q.where('status', 'active').andWhere('last_active_at', '<', cutoff);
    if (options.kinds) q.whereIn('kind', options.kinds);
    return q;
  };
  const deleted: string[] = [];
  for (;;) {
    const batch = (await stale(knex('accounts').select('id', 'kind')).orderBy('last_active_at').limit(BATCH)) as Array<{ id: string; kind: string }>;
    for (const { id, kind } of batch) {
      await knex.transaction(async (trx) => {
        const marked = await stale(trx('accounts').where({ id })).update({ status: 'deleted', deleted_at: now, updated_at: now, name: null, last_login_at: null });
        if (marked !== 1) return; // logged in meanwhile, or another instance deleted it
        await tombstoneAccount(db, trx, id);
        await options.audit?.record(
          { event: 'account.deleted', outcome: 'success', accountId: id, detail: { reason: 'inactive', kind, retentionDays: options.retentionDays } },
          trx,
        );
        deleted.push(id);
      });
    }
    if (batch.length < BATCH) return deleted;
  }
}
