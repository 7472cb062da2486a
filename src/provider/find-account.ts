/**
 * oidc-provider's findAccount: turns a `sub` into the claims a client may receive.
 * Rules: a deleted (tombstoned) or unknown account yields nothing, which ends its sessions and tokens'
 * usefulness; oidc-provider itself filters the returned claims by the granted scopes and claims.
 */
import type { FindAccount } from 'oidc-provider';
import type { AccountRepository } from '../store/accounts.js';

export function createFindAccount(accounts: AccountRepository): FindAccount {
  return async (_ctx, sub) => {
    const account = await accounts.findById(sub);
    if (!account || account.status !== 'active') return undefined;
    return {
      accountId: account.id,
      async claims() {
        return {
          sub: account.id,
          ...(account.name ? { name: account.name } : {}),
          ...(account.email ? { email: account.email, email_verified: account.emailVerified } : {}),
        };
      },
    };
  };
}
