/**
 * oidc-provider's findAccount: turns a `sub` into the claims a client may receive.
 * Rules: a deleted (tombstoned) or unknown account yields nothing, which ends its sessions and tokens'
 * usefulness; oidc-provider itself filters the returned claims by the granted scopes and claims; a
 * national identity number is only ever returned to clients with `release_national_id`, as the claim its
 * method names (ID-porten's `pid`, OIDC Sweden's personalIdentityNumber; the registry says which).
 */
import type { FindAccount } from 'oidc-provider';
import type { AccountRepository } from '../store/accounts.js';

/** What findAccount asks of the login methods (the registry answers, by an account's kind). */
export interface AccountMethods {
  /** The account was made by an upstream login (it has a federated identity). */
  isFederated(kind: string): boolean;
  /** The claim the upstream subject is released as; undefined: never released. */
  nationalIdClaimOf(kind: string): string | undefined;
}

export function createFindAccount(accounts: Pick<AccountRepository, 'findWithIdentity'>, methods: AccountMethods): FindAccount {
  return async (ctx, sub) => {
    // The account and its upstream identity in one read (once per request: account-memo.ts).
    const found = await accounts.findWithIdentity(sub);
    if (!found || found.account.status !== 'active') return undefined;
    const { account } = found;
    const upstream = methods.isFederated(account.kind) ? found.upstream : undefined;
    // A national identity number leaves only for a client whose policy allows it (and a `pid` scope).
    const mayReleaseNationalId = (ctx.oidc.client as unknown as { release_national_id?: boolean } | undefined)?.release_national_id === true;
    const nationalIdClaim = upstream && mayReleaseNationalId ? methods.nationalIdClaimOf(upstream.broker) : undefined;
    return {
      accountId: account.id,
      async claims() {
        return {
          sub: account.id,
          ...(account.name ? { name: account.name } : {}),
          ...(account.email ? { email: account.email, email_verified: account.emailVerified } : {}),
          ...(upstream?.profile.given_name ? { given_name: upstream.profile.given_name } : {}),
          ...(upstream?.profile.family_name ? { family_name: upstream.profile.family_name } : {}),
          ...(upstream?.profile.birthdate ? { birthdate: upstream.profile.birthdate } : {}),
          ...(upstream && nationalIdClaim ? { [nationalIdClaim]: upstream.subject } : {}),
        };
      },
    };
  };
}
