/**
 * Retention of federated accounts and of the audit trail, on each dialect, with an injected clock.
 * A relying party logs in through the ID-porten mock and the BankID mock; after ACCOUNT_RETENTION_DAYS
 * without a login both accounts are tombstones that keep no national identity number (nowhere in the
 * database, once expired rows are swept), recent ones stay, and the same people logging in again get
 * new accounts with new `sub`s (no 500 from the unique (broker, subject) pair). A pair that still points
 * at a tombstone (older data) is released. Audit events older than AUDIT_RETENTION_DAYS go, at most
 * 10 000 rows per statement. On PostgreSQL, two instances sweeping at once delete and audit each account once.
 */
import { ManualClock } from '../support/manual-clock.js';
import { loadConfig } from '../../src/config/index.js';
import { purgeAuditEvents, purgeInactiveAccounts } from '../../src/cli/local-accounts.js';
import { deleteInactiveAccounts } from '../../src/store/account-retention.js';
import { createAuditLog, PURGE_BATCH } from '../../src/store/audit.js';
import { createFederatedAccountRepository } from '../../src/store/federated-accounts.js';
import { sweepLocalAccounts } from '../../src/store/local-sweep.js';
import { sweepExpired } from '../../src/store/sweeper.js';
import type { Database } from '../../src/store/db.js';
import { Browser, type Page } from '../support/browser.js';
import { dialects, createTestDatabase, postgresUrl, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { atMock, begin, chooseMethod, eidClientsFile, KARI, OLA, redeem, type Flow } from '../brokers/eid-support.js';

const DAY = 24 * 3600 * 1000;
const ASTRID = '198507099821';
const FATIMA = '197010632391';
const APP_ORDER = /\/mock\/bankid\/app\/[0-9a-f-]{36}$/;
const TABLES = ['oidc_payloads', 'accounts', 'local_credentials', 'federated_identities', 'signing_keys', 'instance_secrets', 'audit_events', 'self_service_flows', 'rate_limits'];

describe.each(dialects)('retention of federated accounts on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    server = await startService({ db, clock, clientsFile: eidClientsFile(), env: { MOCKS_ENABLED: 'true' } });
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  async function idportenLogin(person: string) {
    const flow = await begin(server.url, 'se', { scope: 'openid profile pid' });
    const mock = await chooseMethod(flow, flow.page, 'idporten');
    return redeem(flow, await atMock(flow, mock, { person, eid: 'minid' }));
  }

  async function bankidLogin(person: string) {
    const flow = await begin(server.url, 'se', { scope: 'openid profile https://id.oidc.se/scope/naturalPersonNumber' });
    const page = await chooseMethod(flow, flow.page, 'bankid-se');
    const qr = /<code id="bankid-qr-data">([^<]+)<\/code>/.exec(page.html)![1]!;
    const tester = new Browser(server.url);
    const opened = await tester.go(`${server.url}/mock/bankid/app?qr=${encodeURIComponent(qr)}`);
    const identified = await tester.submit(opened, APP_ORDER, { action: 'identify', person });
    await tester.submit(identified, APP_ORDER, { action: 'approve' });
    const done = await status(flow, page);
    expect(done.status).toBe('complete');
    return redeem(flow, await flow.browser.go(done.redirect!));
  }

  async function status(flow: Flow, page: Page) {
    clock.advance(2000); // BankID's collect interval
    const path = new URL(page.url).pathname;
    const res = await fetch(new URL(`${path}/status`, server.url), {
      headers: { accept: 'application/json', cookie: (flow.browser as unknown as { cookieHeader(p: string): string }).cookieHeader(path) },
    });
    return (await res.json()) as { status: string; redirect?: string };
  }

  async function everyRowAsText(): Promise<string> {
    const parts = await Promise.all(TABLES.map(async (t) => JSON.stringify(await db.knex(t).select())));
    return parts.join('\n');
  }

  test('inactive ID-porten and BankID accounts become tombstones without the national id; logging in again gives a new account and sub', async () => {
    const kari = await idportenLogin(KARI);
    const astrid = await bankidLogin(ASTRID);
    expect(kari.userinfo.pid).toBe(KARI);
    expect(await db.knex('federated_identities').where({ broker: 'idporten', subject: KARI })).toHaveLength(1);
    expect(await db.knex('federated_identities').where({ broker: 'bankid-se', subject: ASTRID })).toHaveLength(1);

    clock.advance(400 * DAY);
    const fatima = await bankidLogin(FATIMA);
    clock.advance(331 * DAY); // Kari and Astrid: 731 days without a login; Fatima: 331

    const deleted = await purgeInactiveAccounts(db, clock, 730);
    expect([...deleted].sort()).toEqual([kari.claims.sub, astrid.claims.sub].sort());
    for (const [sub, kind] of [[kari.claims.sub, 'idporten'], [astrid.claims.sub, 'bankid-se']] as const) {
      const tombstone = await db.knex('accounts').where({ id: sub }).first();
      expect(tombstone).toMatchObject({ kind, status: 'deleted', name: null, last_login_at: null });
      expect(Number(tombstone.deleted_at)).toBe(clock.now());
      expect(await db.knex('federated_identities').where({ account_id: sub })).toHaveLength(0);
      expect(await db.knex('oidc_payloads').whereIn('model', ['Session', 'AccessToken', 'Grant']).andWhere('payload', 'like', `%${sub}%`)).toHaveLength(0);
    }
    const audited = (await createAuditLog(db, clock).recent(20)).filter((e) => e.event === 'account.deleted');
    expect(audited.map((e) => e.accountId).sort()).toEqual([kari.claims.sub, astrid.claims.sub].sort());
    expect(audited.map((e) => e.detail?.kind).sort()).toEqual(['bankid-se', 'idporten']);
    expect((await db.knex('accounts').where({ id: fatima.claims.sub }).first()).status).toBe('active');

    // Once the expired interactions, orders and upstream sessions are swept, the numbers are nowhere.
    await sweepExpired(db, clock);
    const stored = await everyRowAsText();
    expect(stored).not.toContain(KARI);
    expect(stored).not.toContain(ASTRID);
    expect(stored).not.toContain('Kari Nordmann');
    expect(stored).toContain(FATIMA); // a recent account keeps its identity

    const kariAgain = await idportenLogin(KARI);
    const astridAgain = await bankidLogin(ASTRID);
    expect(kariAgain.claims.sub).not.toBe(kari.claims.sub);
    expect(astridAgain.claims.sub).not.toBe(astrid.claims.sub);
    expect(kariAgain.userinfo.pid).toBe(KARI);
    expect((await db.knex('accounts').where({ id: kari.claims.sub }).first()).status).toBe('deleted');
    expect(await purgeInactiveAccounts(db, clock, 730)).toEqual([]);
  });

  test('a login within the period keeps a federated account; the scheduled sweep deletes it after', async () => {
    const first = await idportenLogin(OLA);
    clock.advance(729 * DAY);
    expect((await idportenLogin(OLA)).claims.sub).toBe(first.claims.sub);
    clock.advance(729 * DAY);
    const deps = { db, clock, audit: createAuditLog(db, clock), retentionDays: 730, auditRetentionDays: 365 };
    expect((await sweepLocalAccounts(deps)).deletedAccounts).not.toContain(first.claims.sub);
    clock.advance(2 * DAY);
    expect((await sweepLocalAccounts(deps)).deletedAccounts).toContain(first.claims.sub);
    expect(await db.knex('federated_identities').where({ broker: 'idporten', subject: OLA })).toHaveLength(0);
  });

  test('a (broker, subject) still pointing at a tombstone (older data) is released: the login makes a new account, no 500', async () => {
    const repo = createFederatedAccountRepository(db, clock);
    const old = await repo.loginWith('idporten', OLA, { name: 'Ola Tenorsen' });
    // A tombstone made before retention covered federated accounts: its identity row survived.
    await db.knex('accounts').where({ id: old.accountId }).update({ status: 'deleted', name: null });
    const again = await idportenLogin(OLA);
    expect(again.claims.sub).not.toBe(old.accountId);
    expect(await db.knex('federated_identities').where({ broker: 'idporten', subject: OLA })).toEqual([expect.objectContaining({ account_id: again.claims.sub })]);
  });

  test('audit events older than the audit retention period are purged, at most 10 000 rows per statement', async () => {
    await db.knex('audit_events').del();
    const old = clock.now() - 366 * DAY;
    const rows = Array.from({ length: 2 * PURGE_BATCH + 1 }, (_, i) => ({ at: old + i, event: 'login.local', outcome: 'success' }));
    await db.knex.batchInsert('audit_events', rows, 400);
    await createAuditLog(db, clock).record({ event: 'login.local', outcome: 'failure', detail: { reason: 'recent' } });
    const deletes: number[] = [];
    const onResponse = (response: unknown, query: { sql?: string }) => {
      if (/^delete from ["`]audit_events["`]/i.test(query.sql ?? '') && typeof response === 'number') deletes.push(response);
    };
    db.knex.on('query-response', onResponse);
    try {
      expect(await purgeAuditEvents(db, clock, 365)).toBe(2 * PURGE_BATCH + 1);
    } finally {
      db.knex.removeListener('query-response', onResponse);
    }
    expect(PURGE_BATCH).toBe(10_000);
    expect(deletes).toEqual([PURGE_BATCH, PURGE_BATCH, 1]);
    const left = await db.knex('audit_events').select('detail');
    expect(left).toEqual([{ detail: JSON.stringify({ reason: 'recent' }) }]);
  });
});

(postgresUrl ? describe : describe.skip)('two instances sweeping at once (PostgreSQL)', () => {
  test('each inactive account is deleted and audited exactly once', async () => {
    const db = await createTestDatabase('postgres');
    const twin = db.openTwin();
    const clock = new ManualClock(Date.now());
    try {
      const repo = createFederatedAccountRepository(db, clock);
      const ids: string[] = [];
      for (let i = 0; i < 60; i++) ids.push((await repo.loginWith('bankid-se', `19850709${String(1000 + i)}`, { name: `Person ${i}` })).accountId);
      clock.advance(731 * DAY);
      const sweep = (on: Database) => deleteInactiveAccounts(on, clock, { retentionDays: 730, audit: createAuditLog(on, clock) });
      const [a, b, c] = await Promise.all([sweep(db), sweep(twin), sweep(db)]);
      expect([...a!, ...b!, ...c!].sort()).toEqual([...ids].sort());
      const audited = await db.knex('audit_events').where({ event: 'account.deleted' }).select('account_id');
      expect(audited.map((r) => r.account_id).sort()).toEqual([...ids].sort());
      expect(await db.knex('federated_identities').count({ n: '*' })).toEqual([{ n: '0' }]);
    } finally {
      await twin.close();
      await db.close();
    }
  });
});

describe('AUDIT_RETENTION_DAYS', () => {
  test('defaults to 365 days; a bad value names the variable', () => {
    expect(loadConfig({}).compliance.auditRetentionDays).toBe(365);
    expect(loadConfig({ AUDIT_RETENTION_DAYS: '90' }).compliance.auditRetentionDays).toBe(90);
    expect(() => loadConfig({ AUDIT_RETENTION_DAYS: '0' })).toThrow(/AUDIT_RETENTION_DAYS/);
  });
});
