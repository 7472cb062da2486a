/**
 * The changes self-service and retention make to local accounts (DESIGN §2, §5). Rules:
 * - registration completes in one transaction: the verified flow becomes `completed` (a conditional
 *   update) and the account and its credentials are created; a taken address rolls both back;
 * - a reset completes in one transaction: flow completed, new hash stored, address marked verified, and
 *   every session and token of the account deleted (oidc_payloads rows whose payload names it);
 * - deleting an inactive account leaves a tombstone (account-retention.ts): the accounts row stays so its
 *   id — the `sub` — is never issued again, while the credentials row goes, which frees the e-mail
 *   address (UNIQUE) and legacy username for a new, different account;
 * - nothing here links or merges accounts.
 */
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { Clock } from '../clock.js';
import type { Database } from './db.js';
import { normaliseEmail, normaliseLegacyUsername } from './accounts.js';
import { endAccountSessions } from './account-sessions.js';
import { deleteInactiveAccounts } from './account-retention.js';
import { isUniqueViolation } from './db-errors.js';

const FLOWS = 'self_service_flows';

class Abort extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

export type RegistrationResult = { ok: true; accountId: string } | { ok: false; reason: 'not_verified' | 'duplicate' };
export type RecoveryResult = { ok: true; accountId: string } | { ok: false; reason: 'not_verified' | 'no_account' };

export function createLocalAccountStore(db: Database, clock: Clock) {
  const { knex } = db;

  /** Deletes every session and token that names the account. */
  const endSessions = (trx: Knex | Knex.Transaction, accountId: string) => endAccountSessions(db, trx, accountId);

  async function completeFlow(trx: Knex.Transaction, flowId: string, now: number): Promise<void> {
    const done = await trx(FLOWS)
      .where({ id: flowId, state: 'verified' })
      .andWhere('expires_at', '>', now)
      .update({ state: 'completed', completed_at: now });
    if (done !== 1) throw new Abort('not_verified');
  }

  async function completeRegistration(flowId: string, input: { email: string; name: string; passwordHash: string }): Promise<RegistrationResult> {
    const id = crypto.randomUUID();
    const now = clock.now();
    try {
      await knex.transaction(async (trx) => {
        await completeFlow(trx, flowId, now);
        await trx('accounts').insert({ id, kind: 'local', status: 'active', name: input.name, created_at: now, updated_at: now, last_login_at: now });
        await trx('local_credentials').insert({
          account_id: id,
          email: normaliseEmail(input.email),
          password_hash: input.passwordHash,
          email_verified_at: now,
        });
      });
    } catch (err) {
      if (err instanceof Abort) return { ok: false, reason: 'not_verified' };
      if (isUniqueViolation(err)) return { ok: false, reason: 'duplicate' };
      throw err;
    }
    return { ok: true, accountId: id };
  }

  /** Sets a new password for the account the verified flow proved, and ends all its sessions. */
  async function completeRecovery(flowId: string, accountId: string | null, passwordHash: string): Promise<RecoveryResult> {
    if (!accountId) return { ok: false, reason: 'no_account' };
    const now = clock.now();
    try {
      await knex.transaction(async (trx) => {
        await completeFlow(trx, flowId, now);
        const active = await trx('accounts').where({ id: accountId, status: 'active' }).first('id');
        if (!active) throw new Abort('no_account');
        await trx('local_credentials')
          .where({ account_id: accountId })
          .update({ password_hash: passwordHash, email_verified_at: trx.raw('coalesce(email_verified_at, ?)', [now]) });
        await trx('accounts').where({ id: accountId }).update({ updated_at: now });
        await endSessions(trx, accountId);
      });
    } catch (err) {
      if (err instanceof Abort) return { ok: false, reason: err.reason === 'no_account' ? 'no_account' : 'not_verified' };
      throw err;
    }
    return { ok: true, accountId };
  }

  /** Tombstones local accounts without a login for `retentionDays` (see account-retention.ts); returns their ids. */
  async function deleteInactive(retentionDays: number): Promise<string[]> {
    return deleteInactiveAccounts(db, clock, { retentionDays, kinds: ['local'] });
  }

  /** Gives the account with this address a legacy six-character username (Migrationsverket, before 2018-12-04). */
  async function setLegacyUsername(email: string, username: string): Promise<'ok' | 'no_account' | 'taken'> {
    try {
      const changed = await knex('local_credentials')
        .where({ email: normaliseEmail(email) })
        .update({ legacy_username: normaliseLegacyUsername(username) });
      return changed === 1 ? 'ok' : 'no_account';
    } catch (err) {
      if (isUniqueViolation(err)) return 'taken';
      throw err;
    }
  }

  return { completeRegistration, completeRecovery, deleteInactive, setLegacyUsername, endSessions: (accountId: string) => endSessions(knex, accountId) };
}

export type LocalAccountStore = ReturnType<typeof createLocalAccountStore>;
