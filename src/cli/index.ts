#!/usr/bin/env node
/**
 * nordlys CLI: `npm run cli -- <command>`. Commands: migrate, accounts create|set-legacy-username|
 * purge-inactive, audit purge|export, clients list|show|add|update|remove|rotate-secret,
 * keys list|rotate|revoke|purge|rewrap, sweep. Uses the same validated config as the server.
 * Every command that changes something is written to the audit trail with actor `cli` (cli/audit.ts).
 */
import { Command } from 'commander';
import { loadConfigFromEnvironment, ConfigError, type Config } from '../config/index.js';
import { systemClock } from '../clock.js';
import { openDatabase, type Database } from '../store/db.js';
import { migrateLatest } from '../store/migrate.js';
import { ClientsFileError } from '../provider/clients-file.js';
import { registerClientCommands } from './clients.js';
import { ClientInputError, ClientNotFoundError } from '../admin/clients-service.js';
import { maxSignedTokenSeconds } from '../provider/create-provider.js';
import { DuplicateEmailError } from '../store/accounts.js';
import { createPasswordPolicy } from '../policies/password-rules.js';
import { loadBlocklist } from '../passwords/blocklist.js';
import { createLocalAccount, CliError, describeKeys, purgeExpiredKeys, revokeKey, rewrapKeys, rotateKeys, sweepExpired } from './commands.js';
import { UnknownKeyError } from '../store/signing-keys.js';
import { KeyEncryptionError } from '../store/key-encryption.js';
import { purgeInactiveAccounts, setLegacyUsername, sweepLocalRows } from './local-accounts.js';
import { addAuditExport, openCliAudit } from './audit.js';
import { AUDIT_EVENTS, type AuditLog } from '../store/audit.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

async function withDb<T>(config: Config, work: (db: Database) => Promise<T>): Promise<T> {
  const db = openDatabase({ databaseUrl: config.databaseUrl, sqliteFile: config.deployment.sqliteFile });
  try {
    await migrateLatest(db);
    return await work(db);
  } finally {
    await db.close();
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export function buildCli(config: Config): Command {
  const program = new Command('nordlys').description('Nordlys ID operator commands').exitOverride();
  const withAudit = <T>(work: (db: Database, audit: AuditLog) => Promise<T>) =>
    withDb(config, async (db) => work(db, await openCliAudit(db, systemClock, config.logLevel)));

  program.command('migrate').description('apply pending database migrations').action(async () => {
    await withDb(config, async () => out('database is up to date'));
  });

  const accounts = program.command('accounts').description('accounts (e-mail, ID-porten, BankID)');
  accounts
    .command('create')
    .description('create an e-mail account; the password is read from standard input')
    .requiredOption('--email <email>')
    .requiredOption('--name <name>')
    .option('--legacy-username <username>', 'a six-character username the account can also log in with')
    .action(async (opts: { email: string; name: string; legacyUsername?: string }) => {
      if (process.stdin.isTTY) process.stderr.write('Password (then Enter and Ctrl-D): ');
      const password = await readStdin();
      const policy = createPasswordPolicy(config.localAccounts.passwordPolicy, loadBlocklist(config.localAccounts.passwordBlocklistFile));
      const account = await withAudit(async (db, audit) => {
        const created = await createLocalAccount(db, systemClock, { ...opts, password }, policy);
        await audit.record({ event: AUDIT_EVENTS.accountCreated, outcome: 'success', accountId: created.id, detail: { kind: 'local' } });
        return created;
      });
      out(`created account ${account.id} for ${account.email}${opts.legacyUsername ? ` (username ${opts.legacyUsername.toUpperCase()})` : ''}`);
    });
  accounts
    .command('set-legacy-username')
    .description('let an existing account also log in with a six-character username')
    .requiredOption('--email <email>')
    .requiredOption('--username <username>')
    .action(async (opts: { email: string; username: string }) => {
      await withAudit(async (db, audit) => {
        await setLegacyUsername(db, systemClock, opts.email, opts.username);
        await audit.record({ event: AUDIT_EVENTS.accountChanged, outcome: 'success', detail: { change: 'legacy_username' } });
      });
      out(`${opts.email} can now log in as ${opts.username.toUpperCase()}`);
    });
  accounts
    .command('purge-inactive')
    .description('delete accounts of every kind without a login for ACCOUNT_RETENTION_DAYS (tombstones keep their ids)')
    .action(async () => {
      const deleted = await withAudit((db, audit) => purgeInactiveAccounts(db, systemClock, config.localAccounts.retentionDays, audit));
      out(`deleted ${deleted.length} account(s) without a login for ${config.localAccounts.retentionDays} days`);
    });

  const audit = program.command('audit').description('the audit trail');
  audit
    .command('purge')
    .description('delete audit events older than AUDIT_RETENTION_DAYS')
    .action(async () => {
      const days = config.compliance.auditRetentionDays;
      const n = await withAudit(async (_db, log) => {
        const purged = await log.purgeOlderThan(days);
        await log.record({ event: AUDIT_EVENTS.auditPurged, outcome: 'success', detail: { events: purged, retentionDays: days } });
        return purged;
      });
      out(`deleted ${n} audit event(s) older than ${days} days`);
    });
  addAuditExport(audit, withAudit);

  registerClientCommands(program, config, (work) => withDb(config, work));

  const keys = program.command('keys').description('signing keys');
  const kek = config.operations.keyEncryptionKey;
  const verifySeconds = maxSignedTokenSeconds(config.ttl);
  keys.command('list').action(async () => {
    const rows = await withDb(config, (db) => describeKeys(db, systemClock, verifySeconds, kek));
    for (const k of rows) out(`${k.kid}\t${k.alg}\t${k.state}\tcreated ${k.created}\tsigns from ${k.signsFrom}`);
  });
  keys.command('rotate').description('publish new keys now; they sign after KEY_PUBLISH_SECONDS').action(async () => {
    const created = await withAudit(async (db, log) => {
      const made = await rotateKeys(db, systemClock, config.keys.publishSeconds, kek);
      for (const k of made) await log.record({ event: AUDIT_EVENTS.keyRotated, outcome: 'success', detail: { kid: k.kid, alg: k.alg } });
      return made;
    });
    for (const k of created) out(`new ${k.alg} key ${k.kid}: published now, signs from ${new Date(k.activatesAt).toISOString()}`);
  });
  keys
    .command('revoke <kid>')
    .description('withdraw a (compromised) key at once: no longer published, no longer signing')
    .action(async (kid: string) => {
      const { replacement } = await withAudit(async (db, log) => {
        const result = await revokeKey(db, systemClock, kid, verifySeconds, kek);
        await log.record({ event: AUDIT_EVENTS.keyRevoked, outcome: 'success', detail: { kid, ...(result.replacement ? { replacement: result.replacement.kid } : {}) } });
        return result;
      });
      out(`revoked ${kid}: running instances stop publishing and using it within KEY_REFRESH_SECONDS (${config.keys.refreshSeconds} s)`);
      if (replacement) out(`it was signing: new ${replacement.alg} key ${replacement.kid} signs from now`);
      out('id_tokens it signed no longer verify; relying parties holding them must log their users in again');
    });
  keys.command('purge').description('delete keys no unexpired token can need, and revoked keys').action(async () => {
    const purged = await withAudit(async (db, log) => {
      const kids = await purgeExpiredKeys(db, systemClock, verifySeconds, kek);
      if (kids.length) await log.record({ event: AUDIT_EVENTS.keyPurged, outcome: 'success', detail: { kids: kids.join(',') } });
      return kids;
    });
    out(purged.length ? `purged ${purged.join(', ')}` : 'no key to purge');
  });
  keys
    .command('rewrap')
    .description('re-encrypt every private key under a new key-encryption key (one transaction)')
    .option('--new-key-from-stdin', 'read the new KEY_ENCRYPTION_KEY (64 hexadecimal characters) from standard input; default: generate one')
    .action(async (opts: { newKeyFromStdin?: boolean }) => {
      if (opts.newKeyFromStdin && process.stdin.isTTY) process.stderr.write('New key-encryption key (then Enter and Ctrl-D): ');
      const newKek = opts.newKeyFromStdin ? await readStdin() : undefined;
      const result = await withAudit(async (db, log) => {
        const rewrapped = await rewrapKeys(db, systemClock, newKek, kek);
        await log.record({ event: AUDIT_EVENTS.keysRewrapped, outcome: 'success', detail: { keys: rewrapped.kids.length, from: rewrapped.from, to: rewrapped.to } });
        return rewrapped;
      });
      out(`re-encrypted ${result.kids.length} signing key(s): key-encryption key ${result.from} -> ${result.to}`);
      if (result.storedInDatabase) {
        out('the development key-encryption key in the database was replaced; nothing to set');
      } else {
        if (result.generatedKek) out(`new KEY_ENCRYPTION_KEY (shown once): ${result.generatedKek}`);
        out(`next: set KEY_ENCRYPTION_KEY to the new key (fingerprint ${result.to}) on every instance and restart them;`);
        out('until then running instances keep signing with the keys they loaded but cannot load new ones');
      }
    });

  program.command('sweep').description('delete expired sessions, codes and tokens').action(async () => {
    const n = await withDb(config, (db) => sweepExpired(db, systemClock));
    out(`deleted ${n} expired row(s)`);
    const local = await withDb(config, (db) => sweepLocalRows(db, systemClock));
    out(`deleted ${local.flows} expired registration/reset flow(s) and ${local.rateLimits} idle rate-limit counter(s)`);
  });
  return program;
}

async function run(): Promise<void> {
  const config = loadConfigFromEnvironment();
  await buildCli(config).parseAsync(process.argv);
}

run().catch((err: unknown) => {
  const e = err as { code?: string; exitCode?: number };
  if (e.code?.startsWith('commander.')) process.exit(e.exitCode ?? 1);
  if (err instanceof CliError || err instanceof UnknownKeyError || err instanceof KeyEncryptionError || err instanceof ConfigError || err instanceof ClientsFileError || err instanceof DuplicateEmailError || err instanceof ClientInputError || err instanceof ClientNotFoundError) {
    process.stderr.write(`error: ${err.message}\n`);
  } else {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(1);
});
