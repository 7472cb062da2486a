/**
 * Retention and tombstones, on each dialect, with an injected clock: a local account without a login
 * for the retention period is deleted by the CLI command and by the scheduled sweep; its row stays as a
 * tombstone (the sub is never handed out again), its credentials, sessions and tokens go; the address
 * is free again and registering it makes a new account with a new sub; recent accounts stay.
 */
import { jest } from '@jest/globals';
import { ManualClock } from '../support/manual-clock.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { purgeInactiveAccounts } from '../../src/cli/local-accounts.js';
import { createAuditLog } from '../../src/store/audit.js';
import { createLocalAccountStore } from '../../src/store/local-accounts.js';
import { startLocalSweeper, type LocalSweepResult } from '../../src/store/local-sweep.js';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';
import { beginLogin, registerThrough, requestCode } from '../support/local-accounts.js';

const DAY = 24 * 3600 * 1000;

describe.each(dialects)('retention and tombstones on %s', (dialect) => {
  let db: TestDatabase;
  let smtp: TestSmtp;
  let server: RunningService;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    smtp = await startSmtp();
    server = await startService({ db, clock, env: { SMTP_URL: smtp.url } });
  });
  afterAll(async () => {
    await server.close();
    await smtp.close();
    await db.close();
  });

  async function logIn(email: string, password: string) {
    const login = await beginLogin(server);
    return login.browser.submit(login.page, /\/login$/, { email, password });
  }

  test('two years without a login: deleted to a tombstone; the address can register again as a new account', async () => {
    const old = await createLocalAccount(db, clock, { email: 'old@example.no', name: 'Old Timer', password: 'Old-Pass-1', legacyUsername: 'OLD123' });
    expect((await logIn('old@example.no', 'Old-Pass-1')).status).toBe(0);
    expect(await db.knex('oidc_payloads').where({ model: 'Session' }).andWhere('payload', 'like', `%${old.id}%`)).not.toHaveLength(0);
    clock.advance(700 * DAY);
    const recent = await createLocalAccount(db, clock, { email: 'recent@example.no', name: 'Recent', password: 'Recent-Pass-1' });
    clock.advance(31 * DAY);

    expect(await purgeInactiveAccounts(db, clock, 730)).toEqual([old.id]);
    const tombstone = await db.knex('accounts').where({ id: old.id }).first();
    expect(tombstone).toMatchObject({ status: 'deleted', name: null });
    expect(Number(tombstone.deleted_at)).toBe(clock.now());
    expect(await db.knex('local_credentials').where({ account_id: old.id })).toHaveLength(0);
    expect(await db.knex('oidc_payloads').andWhere('payload', 'like', `%${old.id}%`).whereNot({ model: 'Interaction' })).toHaveLength(0);
    expect((await createAuditLog(db, clock).recent(5)).find((e) => e.event === 'account.deleted')).toMatchObject({ accountId: old.id });
    expect((await db.knex('accounts').where({ id: recent.id }).first()).status).toBe('active');

    // Gone for every way in: e-mail and legacy username both fail like an unknown account.
    expect((await logIn('old@example.no', 'Old-Pass-1')).status).toBe(401);
    expect((await logIn('old123', 'Old-Pass-1')).status).toBe(401);
    // A reset tells the owner there is no account (as the UDI FAQ wants), and registering again works.
    const reset = await beginLogin(server);
    await requestCode(reset, 'reset', 'old@example.no');
    expect(smtp.to('old@example.no').at(-1)!.subject).toBe('There is no user account with this e-mail address');
    const again = await beginLogin(server);
    const callback = await registerThrough(again, smtp, { email: 'old@example.no', password: 'Fjord7Lights', name: 'New Timer' });
    const newSub = (await again.redeem(callback)).claims()!.sub;
    expect(newSub).not.toBe(old.id);
    expect((await db.knex('accounts').where({ id: old.id }).first()).status).toBe('deleted');
    // Running it again deletes nothing more.
    expect(await purgeInactiveAccounts(db, clock, 730)).toEqual([]);
  });

  test('a login resets the clock; a login on the last day keeps the account', async () => {
    const kept = await createLocalAccount(db, clock, { email: 'kept@example.no', name: 'Kept', password: 'Kept-Pass-1' });
    clock.advance(729 * DAY);
    expect((await logIn('kept@example.no', 'Kept-Pass-1')).status).toBe(0);
    clock.advance(729 * DAY);
    expect(await createLocalAccountStore(db, clock).deleteInactive(730)).not.toContain(kept.id);
    clock.advance(2 * DAY);
    expect(await createLocalAccountStore(db, clock).deleteInactive(730)).toContain(kept.id);
  });

  test('the scheduled sweep deletes inactive accounts too (and expired flows)', async () => {
    const idle = await createLocalAccount(db, clock, { email: 'idle@example.no', name: 'Idle', password: 'Idle-Pass-1' });
    clock.advance(731 * DAY);
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout', 'queueMicrotask', 'Date', 'hrtime', 'performance'] });
    try {
      const swept = new Promise<LocalSweepResult>((resolve, reject) => {
        const sweeper = startLocalSweeper(
          { db, clock, audit: createAuditLog(db, clock), retentionDays: 730, auditRetentionDays: 365 },
          300,
          reject,
          (result) => {
            sweeper.stop();
            resolve(result);
          },
        );
      });
      jest.advanceTimersByTime(300_000);
      const result = await swept;
      expect(result.deletedAccounts).toContain(idle.id);
      // The first test's registration and reset flows expired long ago.
      expect(result.flows).toBeGreaterThan(0);
      expect(await db.knex('self_service_flows')).toHaveLength(0);
      expect((await db.knex('accounts').where({ id: idle.id }).first()).status).toBe('deleted');
    } finally {
      jest.useRealTimers();
    }
  });
});
