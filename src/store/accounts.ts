/**
 * Accounts and their local (e-mail + password) credentials. Rules:
 * - an account id is random and never reused: deletion leaves a tombstone row (status `deleted`);
 * - e-mail addresses are stored normalised (trimmed, NFC, lower-case) and are unique; a local account may
 *   also have a legacy six-character username (stored upper-case, unique) that logs in like the address;
 * - nothing here links or merges accounts: each identity source is its own account.
 */
import crypto from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Knex } from 'knex';
import type { Database } from './db.js';
import type { CompanionRead } from './payload-reads.js';
import type { FederatedProfile } from './federated-accounts.js';
import { isUniqueViolation } from './db-errors.js';
import { compiledStatements, rowsOf } from './compiled-statements.js';

export type AccountKind = 'local';

export interface Account {
  id: string;
  kind: string;
  status: 'active' | 'deleted';
  name: string | null;
  createdAt: number;
  lastLoginAt: number | null;
  email: string | null;
  emailVerified: boolean;
}

/** The upstream identity a federated account was made from (federated_identities), as the claims need it. */
export interface UpstreamIdentity {
  broker: string;
  /** The upstream subject: for ID-porten and BankID a national identity number. Never logged. */
  subject: string;
  profile: FederatedProfile;
}

/** An account with its upstream identity, if it has one: what findAccount needs, in one statement. */
export interface AccountWithIdentity {
  account: Account;
  upstream?: UpstreamIdentity;
}

export interface LocalCredentials {
  accountId: string;
  email: string;
  passwordHash: string;
  /** Epoch ms of the last recorded login, null if none (read with the credentials, so a login need not read it again). */
  lastLoginAt: number | null;
}

/**
 * How fine last_login_at is kept: a login within this long of the recorded one does not write it again
 * (issue 13: one statement less per repeated login). Its readers are retention (a period of days) and the
 * admin API's "last login", for which ten minutes late is still the same answer.
 */
export const LAST_LOGIN_RESOLUTION_MS = 10 * 60 * 1000;

export class DuplicateEmailError extends Error {
  constructor() {
    super('an account with this e-mail address exists');
    this.name = 'DuplicateEmailError';
  }
}

export function normaliseEmail(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}

/** A legacy username (Migrationsverket, accounts before 2018-12-04): six letters or digits, any case. */
export const isLegacyUsername = (login: string): boolean => /^[A-Za-z0-9]{6}$/.test(login.trim());
export const normaliseLegacyUsername = (username: string): string => username.trim().toUpperCase();

/** An accounts row joined with its local credentials (null columns for a federated account). */
interface AccountRow {
  id: string;
  kind: string;
  status: Account['status'];
  name: string | null;
  created_at: number | string;
  last_login_at: number | string | null;
  email?: string | null;
  email_verified_at?: number | string | null;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** The columns of an account with its identity, as `acct_*` (so they can sit beside another table's). */
const IDENTITY_COLUMNS = {
  acct_id: 'a.id',
  acct_kind: 'a.kind',
  acct_status: 'a.status',
  acct_name: 'a.name',
  acct_created_at: 'a.created_at',
  acct_last_login_at: 'a.last_login_at',
  acct_email: 'lc.email',
  acct_email_verified_at: 'lc.email_verified_at',
  acct_upstream_broker: 'fi.broker',
  acct_upstream_subject: 'fi.subject',
  acct_upstream_profile: 'fi.profile',
};

/** Adds the account's local credentials and upstream identity (both at most one row: keyed by account) to a query on `accounts as a`. */
function withIdentityColumns(q: Knex.QueryBuilder): Knex.QueryBuilder {
  return q.leftJoin({ lc: 'local_credentials' }, 'lc.account_id', 'a.id').leftJoin({ fi: 'federated_identities' }, 'fi.account_id', 'a.id').select(IDENTITY_COLUMNS);
}

/** The account of a row with IDENTITY_COLUMNS; undefined when none was joined. */
function withIdentityOf(row: Record<string, unknown>): AccountWithIdentity | undefined {
  if (row.acct_id === null || row.acct_id === undefined) return undefined;
  const account: Account = {
    id: row.acct_id as string,
    kind: row.acct_kind as string,
    status: row.acct_status as Account['status'],
    name: (row.acct_name as string | null) ?? null,
    createdAt: Number(row.acct_created_at),
    lastLoginAt: num(row.acct_last_login_at),
    email: (row.acct_email as string | null | undefined) ?? null,
    emailVerified: row.acct_email_verified_at !== null && row.acct_email_verified_at !== undefined,
  };
  const broker = row.acct_upstream_broker as string | null | undefined;
  const subject = row.acct_upstream_subject as string | null | undefined;
  if (!broker || !subject) return { account };
  return { account, upstream: { broker, subject, profile: JSON.parse((row.acct_upstream_profile as string | null) ?? '{}') as FederatedProfile } };
}

/**
 * The account a token names, read in the token's own statement (store/payload-reads.ts CompanionRead):
 * what findAccount then needs without a statement of its own (account-memo.ts takes it).
 */
export const ACCOUNT_COMPANION = 'account+identity';
export const accountCompanion: CompanionRead = {
  name: ACCOUNT_COMPANION,
  join: (q, accountIdColumn) => withIdentityColumns(q.leftJoin({ a: 'accounts' }, 'a.id', accountIdColumn)),
  parse: withIdentityOf,
};

export function createAccountRepository(db: Database, clock: Clock) {
  const { knex } = db;
  /** The credentials read of every password login, compiled once per column it matches on. */
  const credentialReads = compiledStatements<{ login: string }>(knex, ['login']);

  async function findById(id: string): Promise<Account | undefined> {
    const row = (await knex('accounts')
      .leftJoin('local_credentials', 'local_credentials.account_id', 'accounts.id')
      .where('accounts.id', id)
      .first('accounts.*', 'local_credentials.email', 'local_credentials.email_verified_at')) as AccountRow | undefined;
    return row ? toAccount(row) : undefined;
  }

  /**
   * The account and, for a federated one, its upstream identity, in one statement (issue 13: findAccount
   * read them one after the other at every token, userinfo and login resume of an eID user).
   */
  async function findWithIdentity(id: string): Promise<AccountWithIdentity | undefined> {
    const row = (await withIdentityColumns(knex({ a: 'accounts' }).where('a.id', id).first())) as Record<string, unknown> | undefined;
    return row ? withIdentityOf(row) : undefined;
  }

  function toAccount(row: AccountRow): Account {
    return {
      id: row.id,
      kind: row.kind,
      status: row.status,
      name: row.name,
      createdAt: Number(row.created_at),
      lastLoginAt: num(row.last_login_at),
      email: row.email ?? null,
      emailVerified: row.email_verified_at !== null && row.email_verified_at !== undefined,
    };
  }

  /** Creates an active local account; throws DuplicateEmailError when the address is taken. */
  async function createLocal(input: { email: string; name: string; passwordHash: string; emailVerified: boolean; legacyUsername?: string }): Promise<Account> {
    const id = crypto.randomUUID();
    const now = clock.now();
    const email = normaliseEmail(input.email);
    try {
      await knex.transaction(async (trx) => {
        await trx('accounts').insert({ id, kind: 'local', status: 'active', name: input.name, created_at: now, updated_at: now });
        await trx('local_credentials').insert({
          account_id: id,
          email,
          password_hash: input.passwordHash,
          email_verified_at: input.emailVerified ? now : null,
          legacy_username: input.legacyUsername ? normaliseLegacyUsername(input.legacyUsername) : null,
        });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateEmailError();
      throw err;
    }
    return (await findById(id))!;
  }

  /** The credentials of an active local account with this address (or legacy username), if any. */
  async function findLocalCredentials(login: string): Promise<LocalCredentials | undefined> {
    const legacy = isLegacyUsername(login);
    const column = legacy ? 'local_credentials.legacy_username' : 'local_credentials.email';
    const result = await credentialReads.statement(
      column,
      (p) =>
        knex('local_credentials')
          .join('accounts', 'accounts.id', 'local_credentials.account_id')
          .where({ [column]: p.login, 'accounts.status': 'active' })
          .first('local_credentials.account_id', 'local_credentials.email', 'local_credentials.password_hash', 'accounts.last_login_at'),
      { login: legacy ? normaliseLegacyUsername(login) : normaliseEmail(login) },
    );
    const row = rowsOf<{ account_id: string; email: string; password_hash: string; last_login_at: number | string | null }>(result)[0];
    return row ? { accountId: row.account_id, email: row.email, passwordHash: row.password_hash, lastLoginAt: num(row.last_login_at) } : undefined;
  }

  async function updatePasswordHash(accountId: string, passwordHash: string): Promise<void> {
    await knex('local_credentials').where({ account_id: accountId }).update({ password_hash: passwordHash });
  }

  /** Records a login now; `previousLoginAt` (as read with the credentials) skips a write within LAST_LOGIN_RESOLUTION_MS of it. */
  async function recordLogin(accountId: string, previousLoginAt?: number | null): Promise<void> {
    const now = clock.now();
    if (typeof previousLoginAt === 'number' && previousLoginAt <= now && now - previousLoginAt < LAST_LOGIN_RESOLUTION_MS) return;
    await knex('accounts').where({ id: accountId }).update({ last_login_at: now, updated_at: now });
  }

  return { findById, findWithIdentity, createLocal, findLocalCredentials, updatePasswordHash, recordLogin };
}

export type AccountRepository = ReturnType<typeof createAccountRepository>;
