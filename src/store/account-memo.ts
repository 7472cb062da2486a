/**
 * The account repository as oidc-provider reads it: an account is read by id at most once per request
 * (findAccount, the login Checks and the claims all ask for it), through the request memo
 * (request-memo.ts). Rules: only the provider's reads go through here; the admin API and our pages use
 * the repository itself, so a change they make is read back from the database; a write through this
 * wrapper forgets the account it wrote.
 */
import type { Account, AccountRepository } from './accounts.js';
import type { RequestMemo } from './request-memo.js';

const SPACE = 'account';

export function withAccountMemo(accounts: AccountRepository, memo: RequestMemo): AccountRepository {
  return {
    ...accounts,
    async findById(id) {
      const known = memo.recall<Account>(SPACE, id);
      if (known) return known;
      const found = await accounts.findById(id);
      if (found) memo.remember(SPACE, id, found);
      return found;
    },
    async updatePasswordHash(accountId, passwordHash) {
      memo.forget(SPACE, accountId);
      await accounts.updatePasswordHash(accountId, passwordHash);
    },
    async recordLogin(accountId, previousLoginAt) {
      memo.forget(SPACE, accountId);
      await accounts.recordLogin(accountId, previousLoginAt);
    },
  };
}
