/**
 * Federated accounts (DESIGN §2): one account per (broker, upstream subject). Rules:
 * - the first login through a broker creates the account; later logins find it by (broker, subject)
 *   and never by name, e-mail or anything else — nothing links or merges accounts;
 * - the unique (broker, subject) constraint makes a second account for the same person impossible,
 *   also when two logins race (the loser reads the winner's account);
 * - the profile kept is what the upstream last said (name, birth date), refreshed at each login;
 * - a deleted account (a tombstone, see account-retention.ts) keeps no (broker, subject): the person
 *   coming back gets a new account with a new `sub`. Should a stale pair still point at a tombstone
 *   (data from before retention covered federated accounts), it is released and the login goes on.
 */
import crypto from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Database } from './db.js';

export interface FederatedProfile {
  name?: string;
  given_name?: string;
  family_name?: string;
  birthdate?: string;
}

export interface FederatedAccount {
  accountId: string;
  broker: string;
  subject: string;
  profile: FederatedProfile;
  created: boolean;
}

export function createFederatedAccountRepository(db: Database, clock: Clock) {
  const { knex } = db;

  async function find(broker: string, subject: string): Promise<FederatedAccount | undefined> {
    const row = await knex('federated_identities')
      .join('accounts', 'accounts.id', 'federated_identities.account_id')
      .where({ 'federated_identities.broker': broker, 'federated_identities.subject': subject, 'accounts.status': 'active' })
      .first('federated_identities.*');
    return row ? { accountId: row.account_id, broker, subject, profile: JSON.parse(row.profile ?? '{}'), created: false } : undefined;
  }

  /** Finds the account of (broker, subject) or creates it; records the login either way. */
  async function loginWith(broker: string, subject: string, profile: FederatedProfile): Promise<FederatedAccount> {
    const now = clock.now();
    const name = profile.name ?? ([profile.given_name, profile.family_name].filter(Boolean).join(' ') || null);
    const existing = await find(broker, subject);
    if (existing) {
      await knex.transaction(async (trx) => {
        await trx('federated_identities').where({ account_id: existing.accountId }).update({ profile: JSON.stringify(profile) });
        await trx('accounts').where({ id: existing.accountId }).update({ last_login_at: now, updated_at: now, ...(name ? { name } : {}) });
      });
      return { ...existing, profile };
    }
    const id = crypto.randomUUID();
    const create = () =>
      knex.transaction(async (trx) => {
        await trx('accounts').insert({ id, kind: broker, status: 'active', name, created_at: now, updated_at: now, last_login_at: now });
        await trx('federated_identities').insert({ account_id: id, broker, subject, profile: JSON.stringify(profile) });
      });
    try {
      await create();
    } catch (err) {
      const raced = await find(broker, subject);
      if (raced) return raced;
      if (!(await releaseTombstoned(broker, subject))) throw err;
      try {
        await create();
      } catch (again) {
        const racedAgain = await find(broker, subject);
        if (racedAgain) return racedAgain;
        throw again;
      }
    }
    return { accountId: id, broker, subject, profile, created: true };
  }

  /** Deletes a (broker, subject) row that still points at a deleted account; true when one went. */
  async function releaseTombstoned(broker: string, subject: string): Promise<boolean> {
    const released = await knex('federated_identities')
      .where({ broker, subject })
      .whereIn('account_id', knex('accounts').select('id').where({ status: 'deleted' }))
      .del();
    return released > 0;
  }

  async function findByAccountId(accountId: string): Promise<FederatedAccount | undefined> {
    const row = await knex('federated_identities').where({ account_id: accountId }).first();
    return row ? { accountId, broker: row.broker, subject: row.subject, profile: JSON.parse(row.profile ?? '{}'), created: false } : undefined;
  }

  return { find, loginWith, findByAccountId };
}

export type FederatedAccountRepository = ReturnType<typeof createFederatedAccountRepository>;
