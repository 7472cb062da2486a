/**
 * oidc-provider's documented events, written to the audit trail. Rules:
 * - `grant.success`: a token response, by grant type (token.issued); the actor is the client;
 * - `grant.error` with invalid_grant "refresh token already used": refresh-token reuse detected — the
 *   provider has already destroyed the token and revoked its grant (token.refresh_reuse);
 * - `grant.revoked`: a grant (the consent behind tokens) revoked, with the endpoint that revoked it;
 * - `end_session.success`: RP-initiated logout (logout.rp), with the account the session held;
 * - never a token, code or parameter: only ids, the grant type and the error's fixed detail.
 * The events cannot be awaited, so each is recorded in the background (audit.settled() waits), once
 * the request's own writes are stored (`stored`: the storage adapter keeps a request's saves and sends
 * them together, store/deferred-writes.ts): the trail never records a token issued or a grant revoked
 * whose rows did not reach the store; when they did not, the request fails and nothing is recorded.
 */
import type Provider from 'oidc-provider';
import type { AuditLog } from '../store/audit.js';
import { AUDIT_EVENTS } from '../store/audit.js';

interface EventContext {
  ip?: string;
  state?: { requestId?: string; clientIp?: string };
  oidc?: {
    route?: string;
    client?: { clientId?: string };
    params?: Record<string, unknown>;
    session?: { accountId?: string };
    account?: { accountId?: string };
    entities?: { Account?: { accountId?: string }; Grant?: { accountId?: string; clientId?: string } };
  };
}

const REFRESH_REUSE = 'refresh token already used';

function whereFrom(ctx: EventContext) {
  return {
    clientId: ctx.oidc?.client?.clientId,
    ip: ctx.state?.clientIp ?? ctx.ip,
    requestId: ctx.state?.requestId,
  };
}

const accountOf = (ctx: EventContext) => ctx.oidc?.entities?.Account?.accountId ?? ctx.oidc?.account?.accountId ?? ctx.oidc?.session?.accountId;

export function auditProviderEvents(provider: Provider, audit: AuditLog, stored: () => Promise<void> = () => Promise.resolve()): void {
  // The event names are oidc-provider's; its typings list them per overload, so widen the emitter here.
  const emitter = provider as unknown as { on(event: string, listener: (ctx: EventContext, arg: never) => void): void };
  const on = (event: string, listener: (ctx: EventContext, arg: never) => void) => emitter.on(event, listener);
  const recordAfterWrites = (event: Parameters<AuditLog['recordInBackground']>[0]) => {
    stored().then(
      () => audit.recordInBackground(event),
      () => undefined, // the request fails with the write's error; there is nothing to record
    );
  };

  on('grant.success', (ctx: EventContext) => {
    const where = whereFrom(ctx);
    recordAfterWrites({
      event: AUDIT_EVENTS.tokenIssued,
      outcome: 'success',
      ...(where.clientId ? { actor: `client:${where.clientId}` as const } : {}),
      accountId: accountOf(ctx),
      ...where,
      detail: { grant_type: String(ctx.oidc?.params?.grant_type ?? 'unknown') },
    });
  });

  on('grant.error', (ctx: EventContext, err: { error?: string; error_detail?: string }) => {
    if (err?.error !== 'invalid_grant' || err.error_detail !== REFRESH_REUSE) return;
    const where = whereFrom(ctx);
    recordAfterWrites({
      event: AUDIT_EVENTS.refreshReuse,
      outcome: 'failure',
      ...(where.clientId ? { actor: `client:${where.clientId}` as const } : {}),
      accountId: accountOf(ctx),
      ...where,
      detail: { action: 'grant_revoked' },
    });
  });

  on('grant.revoked', (ctx: EventContext, grantId: string) => {
    recordAfterWrites({
      event: AUDIT_EVENTS.consentRevoked,
      outcome: 'success',
      accountId: accountOf(ctx),
      ...whereFrom(ctx),
      // Which endpoint revoked it: end_session_confirm (logout), revocation, token (refresh reuse)…
      detail: { grantId: String(grantId), via: ctx.oidc?.route ?? 'unknown' },
    });
  });

  on('end_session.success', (ctx: EventContext) => {
    const accountId = accountOf(ctx);
    recordAfterWrites({
      event: AUDIT_EVENTS.logoutRp,
      outcome: 'success',
      ...(accountId ? { actor: `user:${accountId}` as const } : {}),
      accountId,
      ...whereFrom(ctx),
    });
  });
}
