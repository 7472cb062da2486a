/**
 * The account repository as oidc-provider reads it: an account is read by id at most once per request
 * (findAccount, the login Checks and the claims all ask for it), through the request memo
 * (request-memo.ts). findById and findWithIdentity (findAccount's read: the account with its upstream
 * identity) are the same read, so whichever comes first in a request is the only one, and none when a
 * token read earlier in the request brought the account with it. Rules: only the
 * provider's reads go through here; the admin API and our pages use the repository itself, so a change
 * they make is read back from the database; a write through this wrapper forgets the account it wrote.
 */
import type { AccountRepository, AccountWithIdentity } from './accounts.js';
import type { RequestMemo } from './request-memo.js';

const WITH_IDENTITY = 'account+identity';

/**
 * `readWithToken`: the account this request already read in a token's statement (payload-reads.ts
 * takeCompanion with accounts.ts accountCompanion), taken once; then no statement of its own.
 */
export function withAccountMemo(accounts: AccountRepository, memo: RequestMemo, readWithToken?: (id: string) => AccountWithIdentity | undefined): AccountRepository {
  async function findWithIdentity(id: string): Promise<AccountWithIdentity | undefined> {
    const known = memo.recall<AccountWithIdentity>(WITH_IDENTITY, id);
    if (known) return known;
    const found = readWithToken?.(id) ?? (await accounts.findWithIdentity(id));
    if (found) memo.remember(WITH_IDENTITY, id, found);
    return found;
  }
  return {
    ...accounts,
    // Both reads are one: whichever asks first reads the account with its identity, the other gets it from memory.
    async findById(id) {
      return (await findWithIdentity(id))?.account;
    },
    findWithIdentity,
    async updatePasswordHash(accountId, passwordHash) {
      memo.forget(WITH_IDENTITY, accountId);
      await accounts.updatePasswordHash(accountId, passwordHash);
    },
    async recordLogin(accountId, previousLoginAt) {
      memo.forget(WITH_IDENTITY, accountId);
      await accounts.recordLogin(accountId, previousLoginAt);
    },
  };
}
