/**
 * Ends every session and token of one account: the oidc_payloads rows whose payload names it.
 * Rule: used inside the caller's transaction (a password reset, a retention deletion), so the account
 * change and the end of its sessions commit together.
 */
import type { Knex } from 'knex';
import type { Database } from './db.js';

/** oidc-provider models whose payload carries the accountId of a login. */
export const ACCOUNT_MODELS = ['Session', 'AccessToken', 'RefreshToken', 'AuthorizationCode', 'Grant', 'DeviceCode', 'BackchannelAuthenticationRequest'];

export async function endAccountSessions(db: Database, trx: Knex | Knex.Transaction, accountId: string): Promise<number> {
  const names = db.dialect === 'postgres' ? `(payload::json->>'accountId') = ?` : `json_extract(payload, '$.accountId') = ?`;
  return trx('oidc_payloads').whereIn('model', ACCOUNT_MODELS).andWhereRaw(names, [accountId]).del();
}

/** The account's login sessions as stored (what a back-channel logout needs: accountId, authorizations and their sids). */
export async function accountSessionPayloads(db: Database, trx: Knex | Knex.Transaction, accountId: string): Promise<Array<{ id: string; payload: Record<string, unknown> }>> {
  const names = db.dialect === 'postgres' ? `(payload::json->>'accountId') = ?` : `json_extract(payload, '$.accountId') = ?`;
  const rows = (await trx('oidc_payloads').where('model', 'Session').andWhereRaw(names, [accountId]).select('id', 'payload')) as Array<{ id: string; payload: string }>;
  return rows.map((r) => ({ id: r.id, payload: JSON.parse(r.payload) as Record<string, unknown> }));
}
