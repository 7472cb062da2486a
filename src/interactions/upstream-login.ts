/**
 * How every upstream login ends, redirect and decoupled alike: the one login-finish sequence. Rules:
 * - the identity becomes its own federated account, keyed by (method id, upstream subject): found or
 *   created, never linked to another; its profile is what the upstream last said;
 * - the login's acr is the rank the upstream reached, amr what it reported, and its auth_time the
 *   upstream's (max_age at our relying parties counts from when the person really logged in);
 * - a success is audited and counted once; a failure is audited with its reason and counted as the
 *   method's error page says (a refusal of ours, or the person's own cancel);
 * - the interaction is finished through `ic.finish` (or `ic.finishUrl` for a script), like every other login.
 */
import type { AuditLog } from '../store/audit.js';
import type { FederatedAccountRepository } from '../store/federated-accounts.js';
import type { LoginCounters } from '../observability/metrics.js';
import type { LoginMethod } from '../brokers/method.js';
import type { BrokerErrorKind, UpstreamIdentity } from '../brokers/types.js';
import type { Rank } from '../policies/loa.js';

export interface FinishedLogin {
  accountId: string;
  acr: Rank;
  amr: string[];
  /** When the person authenticated upstream (epoch seconds), if the upstream said. */
  authTime?: number;
}

export interface Who {
  clientId: string;
  ip: string;
}

export interface UpstreamLoginDeps {
  federated: FederatedAccountRepository;
  audit: AuditLog;
  count: LoginCounters;
}

/** What oidc-provider's interactionResult gets for a finished upstream login. */
export function loginResult(login: FinishedLogin): Record<string, unknown> {
  return { login: { accountId: login.accountId, acr: login.acr, amr: login.amr, ...(login.authTime ? { ts: login.authTime } : {}) } };
}

/** A failed upstream login: the person's own cancel, or a refusal (the method's error page says which). */
export function countFailure(count: LoginCounters, method: LoginMethod, kind: BrokerErrorKind): void {
  if (kind === 'cancelled') return count.login({ method: method.kind, outcome: 'cancelled' });
  count.login({ method: method.kind, outcome: 'failure' });
  const { refusal } = method.errors[kind];
  if (refusal) count.refusal(refusal);
}

export function createUpstreamLogins(deps: UpstreamLoginDeps) {
  return {
    /** Finds or creates the identity's own account (recording the login there). */
    async enter(identity: UpstreamIdentity): Promise<{ login: FinishedLogin; created: boolean }> {
      const { claims } = identity;
      const account = await deps.federated.loginWith(identity.broker, identity.subject, {
        ...(claims.name ? { name: claims.name } : {}),
        ...(claims.given_name ? { given_name: claims.given_name } : {}),
        ...(claims.family_name ? { family_name: claims.family_name } : {}),
        ...(claims.birthdate ? { birthdate: claims.birthdate } : {}),
      });
      const login: FinishedLogin = { accountId: account.accountId, acr: identity.acr, amr: identity.amr, ...(identity.authTime ? { authTime: identity.authTime } : {}) };
      return { login, created: account.created };
    },

    /** Audits and counts a login that succeeded (call it once per login). */
    async succeeded(method: LoginMethod, entered: { login: FinishedLogin; created: boolean }, who: Who): Promise<void> {
      const { login, created } = entered;
      await deps.audit.record({ event: `login.${method.id}`, outcome: 'success', accountId: login.accountId, clientId: who.clientId, ip: who.ip, detail: { acr: login.acr, created } });
      deps.count.login({ method: method.kind, outcome: 'success', acr: login.acr });
    },

    /** An order the upstream ended without a login (the person cancelled, it expired …): no refusal of ours. */
    async ended(method: LoginMethod, reason: string, byPerson: boolean, who: Who): Promise<void> {
      await deps.audit.record({ event: `login.${method.id}`, outcome: 'failure', clientId: who.clientId, ip: who.ip, detail: { reason } });
      deps.count.login({ method: method.kind, outcome: byPerson ? 'cancelled' : 'failure' });
    },

    /** Audits and counts a login that failed with `kind` (call it once per login). */
    async failed(method: LoginMethod, kind: BrokerErrorKind, who: Who): Promise<void> {
      await deps.audit.record({ event: `login.${method.id}`, outcome: 'failure', clientId: who.clientId, ip: who.ip, detail: { reason: method.errors[kind].auditReason ?? kind } });
      countFailure(deps.count, method, kind);
    },
  };
}

export type UpstreamLogins = ReturnType<typeof createUpstreamLogins>;
