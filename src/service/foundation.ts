/**
 * What every instance stands on: the database (opened from config unless one is handed in) and its
 * migrations, the instance secrets, the key-encryption key, the audit trail and the signing keys.
 * Rules: configured secrets win, missing ones are generated once and kept in the store (only
 * development gets this far, src/config/ refuses it in production); signing keys are created on first
 * start, encrypted at rest, and each creation is audited.
 */
import crypto from 'node:crypto';
import type { Config } from '../config/index.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { openDatabase, type Database } from '../store/db.js';
import { migrateLatest } from '../store/migrate.js';
import { getOrCreateSecret, resolveKeyEncryptionKey, resolveSecrets, type ResolvedSecrets } from '../store/secrets.js';
import { ensureSigningKeys } from '../store/signing-keys.js';
import { AUDIT_EVENTS, AUDIT_HASH_SECRET, createAuditLog, type AuditLog } from '../store/audit.js';
import type { Kek } from '../store/key-encryption.js';

export interface Foundation {
  db: Database;
  /** Whether this instance opened the database (and so closes it when it stops). */
  ownsDb: boolean;
  secrets: ResolvedSecrets;
  kek: Kek;
  audit: AuditLog;
}

export async function openFoundation(config: Config, logger: Logger, clock: Clock, given: Database | undefined): Promise<Foundation> {
  const db =
    given ??
    openDatabase({
      databaseUrl: config.databaseUrl,
      sqliteFile: config.deployment.sqliteFile,
      acquireTimeoutMs: config.availability.dbAcquireTimeoutMs,
      statementTimeoutMs: config.availability.dbStatementTimeoutMs,
      preparedStatements: config.availability.dbPreparedStatements,
      logger,
    });
  const applied = await migrateLatest(db);
  if (applied.length) logger.info({ migrations: applied }, 'database migrated');

  const secrets = await resolveSecrets(db, clock, config.secrets);
  const { kek } = await resolveKeyEncryptionKey(db, clock, config.operations.keyEncryptionKey);
  const audit = createAuditLog(db, clock, { logger, hashKey: await getOrCreateSecret(db, clock, AUDIT_HASH_SECRET, () => crypto.randomBytes(32).toString('hex')) });
  const createdKeys = await ensureSigningKeys(db, clock, kek);
  if (createdKeys.encrypted.length) logger.info({ kids: createdKeys.encrypted }, 'plaintext signing keys encrypted at rest');
  if (createdKeys.created.length) logger.info({ kids: createdKeys.created }, 'signing keys generated');
  for (const kid of createdKeys.created) await audit.record({ event: AUDIT_EVENTS.keyCreated, outcome: 'success', actor: 'system', detail: { kid } });
  return { db, ownsDb: !given, secrets, kek, audit };
}
