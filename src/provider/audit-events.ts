/**
 * oidc-provider's documented events, written to the audit trail. Rules:
 * - `grant.success`: a token response, by grant type (token.issued); the actor is the client;
 * - `grant.error` with invalid_grant "refresh token already used": refresh-token reuse detected — the
 *   provider has already destroyed the token and revoked its grant (token.refresh_reuse);
 * - `grant.revoked`: a grant (the consent behind tokens) revoked, with the endpoint that revoked it;
 * - `end_session.success`: RP-initiated logout (logout.rp), with the account the session held;
 * - never a token, code or parameter: only ids, the grant type and the error's fixed detail.
 * The events cannot be awaited, so each is recorded in the background (audit.settled() waits). Inside
 * a request on PostgreSQL the event joins the request's kept writes (store/deferred-writes.ts), so it is
 * stored in the same statement as the token or grant rows it records: both or neither.
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

export function auditProviderEvents(provider: Provider, audit: AuditLog): void {
  // The event names are oidc-provider's; its typings list them per overload, so widen the emitter here.
  const emitter = provider as unknown as { on(event: string, listener: (ctx: EventContext, arg: never) => void): void };
  const on = (event: string, listener: (ctx: EventContext, arg: never) => void) => emitter.on(event, listener);

  on('grant.success', (ctx: EventContext) => {
    const where = whereFrom(ctx);
    audit.recordInBackground({
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
    audit.recordInBackground({
      event: AUDIT_EVENTS.refreshReuse,
      outcome: 'failure',
      ...(where.clientId ? { actor: `client:${where.clientId}` as const } : {}),
      accountId: accountOf(ctx),
      ...where,
      detail: { action: 'grant_revoked' },
    });
  });

  on('grant.revoked', (ctx: EventContext, grantId: string) => {
    audit.recordInBackground({
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
    audit.recordInBackground({
      event: AUDIT_EVENTS.logoutRp,
      outcome: 'success',
      ...(accountId ? { actor: `user:${accountId}` as const } : {}),
      accountId,
      ...whereFrom(ctx),
    });
  });
}
