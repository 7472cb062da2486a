/**
 * The periodic upkeep of accounts and the audit trail, run by the scheduled sweep and the CLI. Rules:
 * - expired self-service flows go a day after they expired (until then a late click says "expired");
 * - rate-limit counters go after two quiet days, never while they block something;
 * - accounts of every kind (e-mail, ID-porten, BankID, …) without a login for the retention period are
 *   deleted, leaving a tombstone (account-retention.ts), each deletion written to the audit trail;
 * - audit events older than the audit retention period are purged in bounded batches (audit.ts);
 * - it runs on the one sweeper framework (sweeper.ts): the timer never keeps the process alive, never
 *   overlaps itself, and a failure only reaches onError.
 */
import type { Clock } from '../clock.js';
import type { AuditLog } from './audit.js';
import type { Database } from './db.js';
import { deleteInactiveAccounts as deleteInactive } from './account-retention.js';
import { sweepExpiredFlows } from './flows.js';
import { createRateLimits } from './rate-limits.js';
import { startPeriodic, type Sweeper } from './sweeper.js';

export interface LocalSweepDeps {
  db: Database;
  clock: Clock;
  audit: AuditLog;
  /** ACCOUNT_RETENTION_DAYS: accounts of every kind. */
  retentionDays: number;
  /** AUDIT_RETENTION_DAYS. */
  auditRetentionDays: number;
}

export interface LocalSweepResult {
  flows: number;
  rateLimits: number;
  deletedAccounts: string[];
  auditEvents: number;
}

/** Tombstones accounts of every kind without a login for `retentionDays`, auditing each; returns their ids. */
export async function deleteInactiveAccounts(deps: Pick<LocalSweepDeps, 'db' | 'clock' | 'audit' | 'retentionDays'>): Promise<string[]> {
  return deleteInactive(deps.db, deps.clock, { retentionDays: deps.retentionDays, audit: deps.audit });
}

/** Expired flows and quiet rate-limit counters (also run by `npm run cli -- sweep`). */
export async function sweepLocalRows(db: Database, clock: Clock): Promise<{ flows: number; rateLimits: number }> {
  const flows = await sweepExpiredFlows(db, clock, 24 * 3600);
  const rateLimits = await createRateLimits(db, clock).sweep(2 * 24 * 3600);
  return { flows, rateLimits };
}

export async function sweepLocalAccounts(deps: LocalSweepDeps): Promise<LocalSweepResult> {
  const rows = await sweepLocalRows(deps.db, deps.clock);
  const deletedAccounts = await deleteInactiveAccounts(deps);
  const auditEvents = await deps.audit.purgeOlderThan(deps.auditRetentionDays);
  return { ...rows, deletedAccounts, auditEvents };
}

export function startLocalSweeper(
  deps: LocalSweepDeps,
  intervalSeconds: number,
  onError: (err: unknown) => void,
  onSwept: (result: LocalSweepResult) => void = () => undefined,
): Sweeper {
  return startPeriodic('local sweep', intervalSeconds, () => sweepLocalAccounts(deps), onError, onSwept);
}
