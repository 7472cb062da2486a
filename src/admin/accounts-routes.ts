/**
 * Accounts through the admin API. Rules:
 * - found by e-mail, legacy username or sub with a POST body (an address in a URL would reach access logs);
 * - disable ends every session and token of the account at once (one transaction) and stops its logins;
 *   enable lets a disabled account log in again; a deleted account stays a tombstone (its sub is never
 *   reused) and cannot be enabled;
 * - delete leaves a tombstone and removes everything personal, as retention does;
 * - every way an admin ends sessions (revoke, disable, delete) sends the back-channel logouts those sessions
 *   owe their relying parties, after the change has committed;
 * - no merging or moving between accounts, ever (DESIGN §2); every call audited with the admin client's id.
 */
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Clock } from '../clock.js';
import type { Database } from '../store/db.js';
import type { AuditLog } from '../store/audit.js';
import type { RateLimits } from '../store/rate-limits.js';
import { isLegacyUsername, normaliseEmail, normaliseLegacyUsername, type Account, type AccountRepository } from '../store/accounts.js';
import { accountSessionPayloads, endAccountSessions } from '../store/account-sessions.js';
import { tombstoneAccount } from '../store/account-retention.js';
import { ClientInputError } from './clients-service.js';
import { sendProblem } from './problem.js';
import { adminAuditRecorder, type AdminAuditDetail } from './audit-record.js';

/** A login session as stored (oidc_payloads), read before an admin action ended it. */
export interface EndedSession {
  id: string;
  payload: Record<string, unknown>;
}

export interface AccountRoutesDeps {
  db: Database;
  clock: Clock;
  accounts: AccountRepository;
  audit: AuditLog;
  rateLimits: RateLimits;
  /** Tells the relying parties of an ended session (back-channel logout, through the outbox). */
  backchannelLogout?: (session: EndedSession) => Promise<void>;
}

const view = (a: Account) => ({
  sub: a.id,
  kind: a.kind,
  status: a.status,
  name: a.name,
  email: a.email,
  email_verified: a.emailVerified,
  created_at: Math.floor(a.createdAt / 1000),
  last_login_at: a.lastLoginAt === null || a.lastLoginAt === undefined ? null : Math.floor(Number(a.lastLoginAt) / 1000),
});

export function addAccountRoutes(router: Router, guard: Middleware, body: Middleware, deps: AccountRoutesDeps): void {
  const { db, clock, audit } = deps;
  /** Sends the logouts of sessions read before they were ended; a failure is the outbox's to retry, not the call's. */
  const tellRelyingParties = async (ctx: Context, sessions: EndedSession[]) => {
    for (const session of sessions) {
      await deps.backchannelLogout?.(session).catch((err: unknown) => (ctx.state.log as { warn?: (o: object, m: string) => void } | undefined)?.warn?.({ err }, 'back-channel logout after an admin action failed'));
    }
  };
  const { accounts } = deps;
  const recordAdmin = adminAuditRecorder(audit, 'account');
  const record = (ctx: Context, event: string, accountId: string | undefined, detail: AdminAuditDetail = {}) => recordAdmin(ctx, event, detail, accountId);
  /** The account, or a 404 problem written and undefined. */
  const load = async (ctx: Context): Promise<Account | undefined> => {
    const account = await accounts.findById(ctx.params.id!);
    if (!account) sendProblem(ctx, 404, 'account-not-found', 'Not Found', 'no such account');
    return account;
  };

  router.post('/accounts/search', guard, body, async (ctx) => {
    const q = ((ctx.request as { body?: unknown }).body ?? {}) as Record<string, unknown>;
    const given = ['email', 'legacy_username', 'sub'].filter((k) => typeof q[k] === 'string' && (q[k] as string).trim());
    if (given.length !== 1 || Object.keys(q).length !== 1) throw new ClientInputError([{ field: 'body', message: 'must hold exactly one of email, legacy_username, sub' }]);
    const [field] = given as [string];
    const value = (q[field] as string).trim();
    if (field === 'legacy_username' && !isLegacyUsername(value)) throw new ClientInputError([{ field, message: 'must be six letters or digits' }]);
    let id: string | undefined = field === 'sub' ? value : undefined;
    if (!id) {
      const where = field === 'email' ? { email: normaliseEmail(value) } : { legacy_username: normaliseLegacyUsername(value) };
      id = ((await db.knex('local_credentials').where(where).first('account_id')) as { account_id: string } | undefined)?.account_id;
    }
    const found = id ? await accounts.findById(id) : undefined;
    await record(ctx, 'searched', found?.id, { by: field, found: Boolean(found) });
    ctx.body = { accounts: found ? [view(found)] : [] };
  });
  router.get('/accounts/:id', guard, async (ctx) => {
    const account = await load(ctx);
    if (!account) return;
    await record(ctx, 'read', account.id);
    // Its identity source (never the national identity number itself) and the login sessions it has now.
    const federated = (await db.knex('federated_identities').where({ account_id: account.id }).first('broker')) as { broker: string } | undefined;
    const sessions = await accountSessionPayloads(db, db.knex, account.id);
    const live = sessions.filter((s) => typeof s.payload.exp !== 'number' || s.payload.exp * 1000 > clock.now());
    ctx.body = {
      ...view(account),
      identities: account.kind === 'local' ? [{ kind: 'local', email: account.email }] : federated ? [{ kind: 'federated', broker: federated.broker }] : [],
      active_sessions: live.map((s) => ({ clients: Object.keys((s.payload.authorizations as Record<string, unknown> | undefined) ?? {}), ...(typeof s.payload.loginTs === 'number' ? { login_at: s.payload.loginTs } : {}) })),
    };
  });
  const setStatus = (to: 'active' | 'disabled', from: 'active' | 'disabled', event: string) => async (ctx: Context) => {
    const account = await load(ctx);
    if (!account) return;
    if (account.status === 'deleted') return sendProblem(ctx, 409, 'account-deleted', 'Conflict', 'a deleted account is a tombstone and stays one');
    let sessions: EndedSession[] = [];
    await db.knex.transaction(async (trx) => {
      if (to === 'disabled') sessions = await accountSessionPayloads(db, trx, account.id);
      await trx('accounts').where({ id: account.id, status: from }).update({ status: to, updated_at: clock.now() });
      // A disabled account's sessions and tokens end with it.
      const ended = to === 'disabled' ? await endAccountSessions(db, trx, account.id) : 0;
      await audit.record({ event: `admin.account.${event}`, outcome: 'success', accountId: account.id, clientId: ctx.state.adminClientId as string, requestId: ctx.state.requestId as string | undefined, detail: { actor: 'admin-api', ended_rows: ended } }, trx);
    });
    await tellRelyingParties(ctx, sessions);
    ctx.body = view((await accounts.findById(account.id))!);
  };
  router.post('/accounts/:id/disable', guard, setStatus('disabled', 'active', 'disabled'));
  router.post('/accounts/:id/enable', guard, setStatus('active', 'disabled', 'enabled'));
  router.delete('/accounts/:id', guard, async (ctx) => {
    const account = await load(ctx);
    if (!account) return;
    let sessions: EndedSession[] = [];
    await db.knex.transaction(async (trx) => {
      sessions = await accountSessionPayloads(db, trx, account.id);
      const now = clock.now();
      await trx('accounts').where({ id: account.id }).whereNot({ status: 'deleted' }).update({ status: 'deleted', deleted_at: now, updated_at: now, name: null, last_login_at: null });
      await tombstoneAccount(db, trx, account.id);
      await audit.record({ event: 'admin.account.deleted', outcome: 'success', accountId: account.id, clientId: ctx.state.adminClientId as string, requestId: ctx.state.requestId as string | undefined, detail: { actor: 'admin-api', kind: account.kind } }, trx);
    });
    await tellRelyingParties(ctx, sessions);
    ctx.status = 204;
  });
  router.post('/accounts/:id/revoke-sessions', guard, async (ctx) => {
    const account = await load(ctx);
    if (!account) return;
    const sessions = await accountSessionPayloads(db, db.knex, account.id);
    const ended = await endAccountSessions(db, db.knex, account.id);
    await record(ctx, 'sessions_revoked', account.id, { ended_rows: ended, sessions: sessions.length });
    await tellRelyingParties(ctx, sessions);
    ctx.body = { sub: account.id, ended_rows: ended };
  });
  router.post('/accounts/:id/clear-throttling', guard, async (ctx) => {
    const account = await load(ctx);
    if (!account) return;
    // The per-account login counter (src/interactions/login-throttle.ts); per-address counters are not the account's.
    await deps.rateLimits.clear(`login:account:${account.id}`);
    await record(ctx, 'throttling_cleared', account.id);
    ctx.body = { sub: account.id, cleared: true };
  });
}
