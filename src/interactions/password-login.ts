/**
 * The e-mail + password strategy of the login prompt. Rules:
 * - missing fields, an unknown address and a wrong password are answered with a localised message on
 *   the page (status 400/401), the address kept so the user need not retype it;
 * - an unknown address costs the same argon2 verify as a known one (no enumeration by timing);
 * - every success and failure is written to the audit trail (never the password);
 * - a hash made with older argon2 parameters is replaced on a successful login.
 */
import type { Logger } from '../logger.js';
import type { AccountRepository } from '../store/accounts.js';
import type { AuditLog } from '../store/audit.js';
import { MAX_PASSWORD_LENGTH, verifyPassword } from '../passwords/hasher.js';
import type { InteractionContext } from './router.js';

export interface PasswordLoginDeps {
  accounts: AccountRepository;
  audit: AuditLog;
  logger: Logger;
}

const MAX_EMAIL_LENGTH = 320;

export function createPasswordLogin(deps: PasswordLoginDeps) {
  const urls = (uid: string) => ({ actionUrl: `/interaction/${uid}/login`, abortUrl: `/interaction/${uid}/abort` });

  return {
    show(ic: InteractionContext): void {
      const hint = (ic.details.params as Record<string, unknown>).login_hint;
      ic.render('login.njk', { ...urls(ic.uid), email: typeof hint === 'string' ? hint.slice(0, MAX_EMAIL_LENGTH) : '' });
    },

    async submit(ic: InteractionContext): Promise<void> {
      const body = ic.ctx.request.body as Record<string, unknown>;
      const email = typeof body.email === 'string' ? body.email.trim().slice(0, MAX_EMAIL_LENGTH) : '';
      const password = typeof body.password === 'string' ? body.password : '';
      const clientId = String((ic.details.params as Record<string, unknown>).client_id);
      const auditBase = { event: 'login.password', clientId, ip: ic.ctx.ip, requestId: String(ic.ctx.state.requestId ?? '') };

      if (!email || !password) {
        ic.ctx.status = 400;
        ic.render('login.njk', { ...urls(ic.uid), email, errorId: 'login.error.missing_fields' });
        return;
      }
      const credentials = password.length <= MAX_PASSWORD_LENGTH ? await deps.accounts.findLocalCredentials(email) : undefined;
      const result = await verifyPassword(credentials?.passwordHash, password);
      if (!credentials || !result.ok) {
        await deps.audit.record({ ...auditBase, outcome: 'failure', accountId: credentials?.accountId, detail: { reason: credentials ? 'wrong_password' : 'unknown_account' } });
        ic.ctx.status = 401;
        ic.render('login.njk', { ...urls(ic.uid), email, errorId: 'login.error.invalid_credentials' });
        return;
      }
      if (result.rehash) await deps.accounts.updatePasswordHash(credentials.accountId, result.rehash);
      await deps.accounts.recordLogin(credentials.accountId);
      await deps.audit.record({ ...auditBase, outcome: 'success', accountId: credentials.accountId });
      deps.logger.info({ accountId: credentials.accountId, clientId }, 'login succeeded');
      await ic.finish({ login: { accountId: credentials.accountId, amr: ['pwd'] } });
    },
  };
}
