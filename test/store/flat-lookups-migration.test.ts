/**
 * Migration 007 (flat lookups) on a database with data: rows saved before it get their account and
 * session uid columns from the payload, so ending an account's sessions finds them; accounts get their
 * last activity computed by the database; and the migration rolls back and forward again.
 */
import type { Knex } from 'knex';
import { migrations, type Migration } from '../../migrations/index.js';
import { ManualClock } from '../support/manual-clock.js';
import { endAccountSessions } from '../../src/store/account-sessions.js';
import { rollbackAll } from '../../src/store/migrate.js';
import { createTestDatabase, dialects, type TestDatabase } from '../support/databases.js';

/** The migrations up to (with or without) 007, so later migrations neither run nor go missing. */
const upTo = (withIt: boolean): Knex.MigrationSource<Migration> => {
  const at = migrations.findIndex((m) => m.name === '007_flat_lookups');
  return {
    getMigrations: async () => migrations.slice(0, withIt ? at + 1 : at),
    getMigrationName: (m) => m.name,
    getMigration: async (m) => m,
  };
};

describe.each(dialects)('migration 007 on %s', (dialect) => {
  let db: TestDatabase;
  const clock = new ManualClock();

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await db.close();
  });

  it('rolls back with every migration, and the schema before it has none of its columns', async () => {
    await rollbackAll(db);
    await db.knex.migrate.latest({ migrationSource: upTo(false) });
    expect(await db.knex.schema.hasColumn('oidc_payloads', 'account_id')).toBe(false);
    expect(await db.knex.schema.hasColumn('oidc_payloads', 'session_uid')).toBe(false);
    expect(await db.knex.schema.hasColumn('accounts', 'last_active_at')).toBe(false);
  });

  it('copies account and session uid from the payloads saved before it, and computes last activity', async () => {
    const now = clock.now();
    // Rows as the adapter wrote them before migration 007.
    const row = (model: string, id: string, payload: Record<string, unknown>) => ({ model, id, payload: JSON.stringify(payload), expires_at: now + 3_600_000 });
    await db.knex('oidc_payloads').insert([
      row('Session', 's1', { uid: 'u1', accountId: 'acc-1' }),
      row('AccessToken', 'at1', { accountId: 'acc-1', grantId: 'g1', sessionUid: 'u1' }),
      row('Grant', 'g1', { accountId: 'acc-1', clientId: 'conf' }),
      row('AccessToken', 'at2', { accountId: 'acc-2', sessionUid: 'u2' }),
      row('ClientCredentials', 'cc1', { clientId: 'machine' }),
      row('Interaction', 'i1', { session: { accountId: 'acc-1' } }),
      row('AccessToken', 'odd', { accountId: 42 }),
    ]);
    await db.knex('accounts').insert([
      { id: 'acc-1', kind: 'local', status: 'active', created_at: 1000, updated_at: 1000, last_login_at: 5000 },
      { id: 'acc-2', kind: 'idporten', status: 'active', created_at: 2000, updated_at: 2000, last_login_at: null },
    ]);

    await db.knex.migrate.up({ migrationSource: upTo(true) });

    const columns = await db.knex('oidc_payloads').select('model', 'id', 'account_id', 'session_uid').orderBy(['model', 'id']);
    expect(columns).toEqual([
      { model: 'AccessToken', id: 'at1', account_id: 'acc-1', session_uid: 'u1' },
      { model: 'AccessToken', id: 'at2', account_id: 'acc-2', session_uid: 'u2' },
      { model: 'AccessToken', id: 'odd', account_id: null, session_uid: null },
      { model: 'ClientCredentials', id: 'cc1', account_id: null, session_uid: null },
      { model: 'Grant', id: 'g1', account_id: 'acc-1', session_uid: null },
      { model: 'Interaction', id: 'i1', account_id: null, session_uid: null },
      { model: 'Session', id: 's1', account_id: 'acc-1', session_uid: null },
    ]);
    const accounts = await db.knex('accounts').select('id', 'last_active_at').orderBy('id');
    expect(accounts.map((a: { id: string; last_active_at: number | string }) => [a.id, Number(a.last_active_at)])).toEqual([
      ['acc-1', 5000],
      ['acc-2', 2000],
    ]);
    // The computed column follows every later write.
    await db.knex('accounts').where({ id: 'acc-2' }).update({ last_login_at: 9000 });
    expect(Number((await db.knex('accounts').where({ id: 'acc-2' }).first('last_active_at')).last_active_at)).toBe(9000);

    expect(await db.knex.transaction((trx) => endAccountSessions(db, trx, 'acc-1'))).toBe(3);
    expect((await db.knex('oidc_payloads').select('id').orderBy('id')).map((r: { id: string }) => r.id)).toEqual(['at2', 'cc1', 'i1', 'odd']);
  });
});
