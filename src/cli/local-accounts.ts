/**
 * Operator commands for accounts and the audit trail, as plain functions over the store (the CLI parses
 * and prints). Rules: a legacy username is six letters or digits, stored upper-case, unique; deleting
 * inactive accounts (every kind: e-mail, ID-porten, BankID) leaves tombstones and writes each deletion
 * to the audit trail, and purging old audit events goes in bounded batches, exactly as the scheduled
 * sweep does.
 */
import type { Clock } from '../clock.js';
import type { Database } from '../store/db.js';
import { isLegacyUsername } from '../store/accounts.js';
import { createAuditLog, type AuditLog } from '../store/audit.js';
import { createLocalAccountStore } from '../store/local-accounts.js';
import { deleteInactiveAccounts, sweepLocalRows } from '../store/local-sweep.js';
import { CliError } from './commands.js';

export async function setLegacyUsername(db: Database, clock: Clock, email: string, username: string): Promise<void> {
  if (!isLegacyUsername(username)) throw new CliError('--username must be six letters or digits');
  const result = await createLocalAccountStore(db, clock).setLegacyUsername(email, username);
  if (result === 'no_account') throw new CliError(`no active local account has the address ${email}`);
  if (result === 'taken') throw new CliError(`the username ${username.toUpperCase()} belongs to another account`);
}

export async function purgeInactiveAccounts(db: Database, clock: Clock, retentionDays: number, audit: AuditLog = createAuditLog(db, clock)): Promise<string[]> {
  return deleteInactiveAccounts({ db, clock, audit, retentionDays });
}

export async function purgeAuditEvents(db: Database, clock: Clock, retentionDays: number): Promise<number> {
  return createAuditLog(db, clock).purgeOlderThan(retentionDays);
}

export { sweepLocalRows };
