/**
 * Ends every session and token of one account: the oidc_payloads rows of its login models.
 * Rules:
 * - used inside the caller's transaction (a password reset, a retention deletion), so the account
 *   change and the end of its sessions commit together;
 * - found by the indexed account_id column the adapter writes from payload.accountId (migration 007),
 *   never by parsing payloads, so the cost is the account's own rows, however large the table.
 */
import type { Knex } from 'knex';
import type { Database } from './db.js';
import { forgetRequestSnapshot } from './payload-reads.js';
import { flushRequestWrites } from './deferred-writes.js';

/** oidc-provider models whose payload carries the accountId of a login. */
export const ACCOUNT_MODELS = ['Session', 'AccessToken', 'RefreshToken', 'AuthorizationCode', 'Grant', 'DeviceCode', 'BackchannelAuthenticationRequest'];

export async function endAccountSessions(db: Database, trx: Knex | Knex.Transaction, accountId: string): Promise<number> {
  // A session or token this request saved and the adapter still keeps must be there to be ended.
  await flushRequestWrites(db.knex);
  forgetRequestSnapshot(db.knex);
  return trx('oidc_payloads').where('account_id', accountId).whereIn('model', ACCOUNT_MODELS).del();
}

/** The account's login sessions as stored (what a back-channel logout needs: accountId, authorizations and their sids). */
export async function accountSessionPayloads(db: Database, trx: Knex | Knex.Transaction, accountId: string): Promise<Array<{ id: string; payload: Record<string, unknown> }>> {
  await flushRequestWrites(db.knex);
  const rows = (await trx('oidc_payloads').where({ account_id: accountId, model: 'Session' }).select('id', 'payload')) as Array<{ id: string; payload: string }>;
  return rows.map((r) => ({ id: r.id, payload: JSON.parse(r.payload) as Record<string, unknown> }));
}
