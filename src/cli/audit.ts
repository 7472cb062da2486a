/**
 * The CLI's side of the audit trail. Rules:
 * - every operator command that changes something is recorded with actor `cli`, through the same audit
 *   log the service uses: a row in the database and a JSON line with `"audit": true` on standard error
 *   (standard output stays the command's own output, and NDJSON for `audit export`);
 * - `audit export` writes matching events as NDJSON to standard output, oldest first; --since/--until
 *   take an ISO 8601 time or epoch milliseconds, and a bad value names its option;
 * - identifiers are hashed under the same instance secret as the service's, so hashes correlate.
 */
import crypto from 'node:crypto';
import pino from 'pino';
import type { Command } from 'commander';
import type { Clock } from '../clock.js';
import { createLogger } from '../logger.js';
import type { Database } from '../store/db.js';
import { getOrCreateSecret } from '../store/secrets.js';
import { AUDIT_EVENTS, AUDIT_HASH_SECRET, createAuditLog, exportAudit, type AuditFilters, type AuditLog } from '../store/audit.js';
import { CliError } from './commands.js';

export async function openCliAudit(db: Database, clock: Clock, logLevel = 'info'): Promise<AuditLog> {
  const hashKey = await getOrCreateSecret(db, clock, AUDIT_HASH_SECRET, () => crypto.randomBytes(32).toString('hex'));
  return createAuditLog(db, clock, { logger: createLogger(logLevel, pino.destination({ fd: 2, sync: true })), hashKey, actor: 'cli' });
}

function parseTime(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d{1,15}$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new CliError(`${option} must be an ISO 8601 time (2026-12-01T00:00:00Z) or epoch milliseconds`);
  return ms;
}

export interface ExportOptions {
  since?: string;
  until?: string;
  account?: string;
  client?: string;
  event?: string;
  outcome?: string;
}

export function auditFiltersFrom(opts: ExportOptions): AuditFilters {
  if (opts.outcome !== undefined && opts.outcome !== 'success' && opts.outcome !== 'failure') throw new CliError('--outcome must be success or failure');
  return {
    since: parseTime('--since', opts.since),
    until: parseTime('--until', opts.until),
    accountId: opts.account,
    clientId: opts.client,
    event: opts.event,
    outcome: opts.outcome,
  };
}

/** Writes one line to stdout, waiting when the pipe is full (an export can be large). */
async function writeStdout(line: string): Promise<void> {
  if (!process.stdout.write(`${line}\n`)) await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
}

export function addAuditExport(
  audit: Command,
  withAudit: <T>(work: (db: Database, log: AuditLog) => Promise<T>) => Promise<T>,
): void {
  audit
    .command('export')
    .description('write audit events as NDJSON to standard output, oldest first')
    .option('--since <time>', 'from this time (ISO 8601 or epoch ms), inclusive')
    .option('--until <time>', 'up to this time (ISO 8601 or epoch ms), exclusive')
    .option('--account <id>', 'events about this account')
    .option('--client <id>', 'events about this client')
    .option('--event <name>', 'this event, or a prefix ending in * (login.*)')
    .option('--outcome <outcome>', 'success or failure')
    .action(async (opts: ExportOptions) => {
      const filters = auditFiltersFrom(opts);
      const n = await withAudit(async (db, log) => {
        const count = await exportAudit(db, filters, writeStdout);
        // Reading the trail is itself an operator action worth a line.
        await log.record({ event: AUDIT_EVENTS.auditExported, outcome: 'success', detail: { events: count, filters: JSON.stringify(opts) } });
        return count;
      });
      process.stderr.write(`exported ${n} audit event(s)\n`);
    });
}
