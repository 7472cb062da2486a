/**
 * How an admin API call is written to the audit trail: as the admin client that made it (the access
 * token's client, set by admin/auth.ts), with the request's address and id, and `actor: admin-api`.
 * One place, so every admin area (accounts, audit, keys) records alike.
 */
import type { Context } from 'koa';
import type { AuditLog } from '../store/audit.js';

export type AdminAuditDetail = Record<string, string | number | boolean>;

/** A recorder for one admin area: `admin.<area>.<event>`, optionally about an account. */
export function adminAuditRecorder(audit: AuditLog, area: string) {
  return (ctx: Context, event: string, detail: AdminAuditDetail = {}, accountId?: string) =>
    audit.record({
      event: `admin.${area}.${event}`,
      outcome: 'success',
      ...(accountId ? { accountId } : {}),
      clientId: ctx.state.adminClientId as string,
      ip: ctx.state.clientIp as string | undefined,
      requestId: ctx.state.requestId as string | undefined,
      detail: { actor: 'admin-api', ...detail },
    });
}
