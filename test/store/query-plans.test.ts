/**
 * Plans that do not depend on ANALYZE (issue 13): with 100k rows in each big table filled in bulk and no
 * statistics at all (PostgreSQL: autovacuum off for them, ANALYZE never run; SQLite: no sqlite_stat1),
 * every hot statement the store makes is planned through the index meant for it, never as a sequential
 * scan of a big table. The statements are the real ones: each store function runs once with a knex query
 * listener on, and what it sent is then explained with the same bindings — PostgreSQL's
 * `EXPLAIN (FORMAT JSON)`, and on PostgreSQL the generic plan of the same statement prepared (what a
 * prepared statement may settle on), SQLite's `EXPLAIN QUERY PLAN` as a second opinion. No timing is measured.
 */
import type { Knex } from 'knex';
import { ManualClock } from '../support/manual-clock.js';
import { deleteInactiveAccounts } from '../../src/store/account-retention.js';
import { accountSessionPayloads, endAccountSessions } from '../../src/store/account-sessions.js';
import { createAuditLog } from '../../src/store/audit.js';
import { queryAudit } from '../../src/store/audit-query.js';
import { adapterRequestScope, createAdapterClass } from '../../src/store/oidc-adapter.js';
import { accountCompanion, createAccountRepository } from '../../src/store/accounts.js';
import { createRateLimits } from '../../src/store/rate-limits.js';
import { counterRule } from '../../src/policies/throttle.js';
import { createSessionEndings } from '../../src/store/session-expiry.js';
import { sweepExpiredPayloads } from '../../src/store/sweeper.js';
import { createTestDatabase, dialects, type TestDatabase } from '../support/databases.js';
import { fillAccounts, fillAudit, fillPayloads, fillRateLimits } from './bulk-rows.js';

const ROWS = 100_000;
const BIG_TABLES = ['oidc_payloads', 'accounts', 'local_credentials', 'rate_limits', 'audit_events'];
const MINUTE = 60_000;
const DAY = 24 * 3600 * 1000;
const RETENTION_DUE = 20;
/** The clock stands here; payload row i expires at NOW - 500 + i ms, so rows 1..500 have expired. */
const NOW = Date.UTC(2030, 0, 1);

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Conflict Arbiter Indexes'?: string[];
  Plans?: PlanNode[];
}

type ExplainResult = { rows: Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }> };

interface Scans {
  /** Indexes used, by name; `rowid of <table>` for a lookup by row address (ctid, rowid). */
  indexes: Set<string>;
  /** Big tables read whole. */
  seqScans: string[];
}

function postgresScans(plan: PlanNode): Scans {
  const scans: Scans = { indexes: new Set(), seqScans: [] };
  const walk = (node: PlanNode) => {
    if (node['Index Name']) scans.indexes.add(node['Index Name']);
    for (const arbiter of node['Conflict Arbiter Indexes'] ?? []) scans.indexes.add(arbiter);
    if (node['Node Type'] === 'Tid Scan') scans.indexes.add(`rowid of ${node['Relation Name']}`);
    if (node['Node Type'] === 'Seq Scan' && BIG_TABLES.includes(node['Relation Name'] ?? '')) scans.seqScans.push(node['Relation Name']!);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(plan);
  return scans;
}

/** SQLite's plan lines: `SEARCH <table> USING INDEX <name> (…)` is a lookup, `SCAN <table>` reads it all. */
function sqliteScans(details: string[]): Scans {
  const scans: Scans = { indexes: new Set(), seqScans: [] };
  for (const line of details) {
    const index = /USING (?:COVERING )?INDEX (\S+)/.exec(line);
    if (index) scans.indexes.add(index[1]!);
    const byRowid = /^SEARCH (\S+) USING INTEGER PRIMARY KEY/.exec(line);
    if (byRowid) scans.indexes.add(`rowid of ${byRowid[1]}`);
    const scan = /^SCAN (\S+)/.exec(line);
    if (scan && BIG_TABLES.includes(scan[1]!)) scans.seqScans.push(scan[1]!);
  }
  return scans;
}

/** Index names as PostgreSQL has them; SQLite names a primary key of text columns its own way. */
const PRIMARY_KEYS: Record<string, string> = {
  oidc_payloads_pkey: 'sqlite_autoindex_oidc_payloads_1',
  accounts_pkey: 'sqlite_autoindex_accounts_1',
  local_credentials_pkey: 'sqlite_autoindex_local_credentials_1',
  rate_limits_pkey: 'sqlite_autoindex_rate_limits_1',
};

describe.each(dialects)('query plans with 100k rows and no statistics on %s', (dialect) => {
  let db: TestDatabase;
  const clock = new ManualClock(NOW);
  let captured: Array<{ sql: string; bindings: unknown[] }> = [];
  let capturing = false;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    if (dialect === 'postgres') for (const table of BIG_TABLES) await db.knex.raw(`alter table ${table} set (autovacuum_enabled = false)`);
    await fillPayloads(db, { count: ROWS, expiresFrom: NOW - 500 });
    // One login a minute: with two years' retention, the first RETENTION_DUE accounts are due.
    await fillAccounts(db, ROWS, NOW - 730 * DAY - RETENTION_DUE * MINUTE, MINUTE);
    await fillRateLimits(db, ROWS, NOW - 3 * DAY);
    await fillAudit(db, ROWS, NOW - ROWS);
    db.knex.on('query', (q: { sql: string; bindings?: unknown[] }) => {
      if (capturing && !/^(begin|commit|rollback|savepoint|release)/i.test(q.sql.trim())) captured.push({ sql: q.sql, bindings: q.bindings ?? [] });
    });
  }, 120_000);
  afterAll(async () => {
    await db?.close();
  });

  /** Runs `work` with the listener on and returns the statements it sent. */
  async function statementsOf(work: () => Promise<unknown>): Promise<Array<{ sql: string; bindings: unknown[] }>> {
    captured = [];
    capturing = true;
    try {
      await work();
    } finally {
      capturing = false;
    }
    return captured;
  }

  async function scansOf(statement: { sql: string; bindings: unknown[] }): Promise<Scans> {
    if (dialect === 'sqlite') {
      const rows = (await db.knex.raw(`explain query plan ${statement.sql}`, statement.bindings as Knex.RawBinding[])) as Array<{ detail: string }>;
      if (process.env.SHOW_PLANS) console.log(statement.sql, rows.map((r) => r.detail));
      return sqliteScans(rows.map((r) => r.detail));
    }
    // knex's PostgreSQL SQL is numbered ($1 …) in order; raw() takes ? placeholders.
    const sql = statement.sql.replace(/\$\d+/g, '?');
    const result = (await db.knex.raw(`explain (format json) ${sql}`, statement.bindings as Knex.RawBinding[])) as ExplainResult;
    const plan = result.rows[0]!['QUERY PLAN'][0]!.Plan;
    if (process.env.SHOW_PLANS) console.log(statement.sql, JSON.stringify(plan, null, 1));
    const scans = postgresScans(plan);
    // The hot statements are prepared (compiled-statements.ts): PostgreSQL may then run a generic plan,
    // made without the values. It must not read a big table whole either.
    const generic = postgresScans(await genericPlan(statement));
    return { indexes: scans.indexes, seqScans: [...scans.seqScans, ...generic.seqScans.map((t) => `${t} (generic plan)`)] };
  }

  /** A test value as an SQL literal (strings of unknown type, as a parameter is). */
  function literal(value: unknown): string {
    if (value === null || value === undefined) return 'null';
    if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
    if (Array.isArray(value)) return `'{${value.map((v) => `"${String(v).replace(/["\\]/g, '\\$&')}"`).join(',')}}'`;
    return `'${String(value).replace(/'/g, "''")}'`;
  }

  /** The plan PostgreSQL keeps for a prepared statement once it settles on one made without the values. */
  async function genericPlan(statement: { sql: string; bindings: unknown[] }): Promise<PlanNode> {
    // One connection for all of it; PREPARE outlives a rollback, so the probe is deallocated whatever happens.
    return db.knex.transaction(async (trx) => {
      await trx.raw('set local plan_cache_mode = force_generic_plan');
      await trx.raw(`prepare plan_probe as ${statement.sql}`);
      await trx.raw('savepoint explained');
      let explained: { plan: PlanNode } | { error: unknown };
      try {
        // EXPLAIN EXECUTE takes no protocol parameters: the values go in as literals (a generic plan does not look at them).
        const args = statement.bindings.map(literal).join(', ');
        const result = (await trx.raw(`explain (format json) execute plan_probe${args ? `(${args})` : ''}`)) as ExplainResult;
        explained = { plan: result.rows[0]!['QUERY PLAN'][0]!.Plan };
      } catch (error) {
        await trx.raw('rollback to savepoint explained');
        explained = { error };
      }
      await trx.raw('deallocate plan_probe');
      if ('error' in explained) throw explained.error;
      return explained.plan;
    });
  }

  /**
   * Every statement of `work` avoids sequential scans of the big tables and, together, they use the
   * `expected` indexes (PostgreSQL names; on SQLite an INSERT's conflict index is not shown, pass `sqlite`).
   */
  async function expectIndexed(work: () => Promise<unknown>, expected: string[], sqlite = expected): Promise<void> {
    const statements = await statementsOf(work);
    expect(statements.length).toBeGreaterThan(0);
    const used = new Set<string>();
    for (const statement of statements) {
      const { indexes, seqScans } = await scansOf(statement);
      expect({ sql: statement.sql, seqScans }).toEqual({ sql: statement.sql, seqScans: [] });
      for (const i of indexes) used.add(i);
    }
    const wanted = dialect === 'postgres' ? expected : sqlite.map((name) => PRIMARY_KEYS[name] ?? name);
    expect([...used].sort()).toEqual(expect.arrayContaining(wanted));
  }

  const Adapter = () => createAdapterClass(db, clock);

  it('has no statistics to go by', async () => {
    if (dialect === 'postgres') {
      const stats = (await db.knex.raw(`select count(*)::int as n from pg_stats where schemaname = current_schema() and tablename = any(?)`, [BIG_TABLES])) as { rows: Array<{ n: number }> };
      expect(stats.rows[0]!.n).toBe(0);
    } else {
      expect(await db.knex('sqlite_master').where({ name: 'sqlite_stat1' })).toEqual([]);
    }
    const counted = (await db.knex('oidc_payloads').count({ n: '*' })) as Array<{ n: string }>;
    expect(Number(counted[0]!.n)).toBe(ROWS);
  });

  it('find by id, introspection\'s three models at once with the grant and session, an interaction with them', async () => {
    const A = Adapter();
    await expectIndexed(() => new A('ClientCredentials').find('ClientCredentials-50001'), ['oidc_payloads_pkey']);
    await expectIndexed(
      () => Promise.all(['AccessToken', 'ClientCredentials', 'RefreshToken'].map((m) => new A(m).find('AccessToken-50006'))),
      ['oidc_payloads_pkey', 'oidc_payloads_model_uid_idx'],
    );
    // An interaction started in a session: read with its Grant and Session, as a token is.
    await new A('Interaction').upsert('Interaction-plan', { session: { accountId: 'acc1', uid: 'u5000' }, grantId: 'g500' }, 3600);
    try {
      await expectIndexed(() => new A('Interaction').find('Interaction-plan'), ['oidc_payloads_pkey', 'oidc_payloads_model_uid_idx']);
    } finally {
      await new A('Interaction').destroy('Interaction-plan');
    }
  });

  it('a token read with its account (the provider\'s adapter in a request), and an account with its identity', async () => {
    const A = createAdapterClass(db, clock, { companion: accountCompanion });
    await adapterRequestScope({}, () =>
      expectIndexed(() => new A('AccessToken').find('AccessToken-50006'), ['oidc_payloads_pkey', 'oidc_payloads_model_uid_idx', 'accounts_pkey', 'local_credentials_pkey']),
    );
    await expectIndexed(() => createAccountRepository(db, clock).findWithIdentity('acc1006'), ['accounts_pkey', 'local_credentials_pkey']);
  });

  (dialect === 'postgres' ? it : it.skip)('PostgreSQL: token reads of several requests at once, sharing a statement by a list of ids, with their accounts', async () => {
    const A = createAdapterClass(db, clock, { companion: accountCompanion });
    const ids = ['AccessToken-50006', 'AccessToken-50007', 'AccessToken-50008'];
    let shared = 0;
    const count = (q: { sql: string }) => (shared += /^select/i.test(q.sql) && /= any\(/.test(q.sql) ? 1 : 0);
    db.knex.on('query', count);
    try {
      // The first goes alone; the two that ask while it is out share the next.
      await expectIndexed(
        () => Promise.all(ids.map((id) => adapterRequestScope({}, () => new A('AccessToken').find(id)))),
        ['oidc_payloads_pkey', 'oidc_payloads_model_uid_idx', 'accounts_pkey', 'local_credentials_pkey'],
      );
    } finally {
      db.knex.off('query', count);
    }
    expect(shared).toBe(1);
  });

  it('findByUid and findByUserCode', async () => {
    const A = Adapter();
    await expectIndexed(() => new A('Session').findByUid('u5000'), ['oidc_payloads_model_uid_idx']);
    await expectIndexed(() => new A('DeviceCode').findByUserCode('UC50000'), ['oidc_payloads_model_user_code_idx']);
  });

  it('upsert, consume, destroy and revokeByGrantId', async () => {
    const A = Adapter();
    await expectIndexed(() => new A('AccessToken').upsert('AccessToken-60006', { accountId: 'acc1006', grantId: 'g6000' }, 3600), ['oidc_payloads_pkey'], []);
    await expectIndexed(() => new A('RefreshToken').consume('RefreshToken-60007'), ['oidc_payloads_pkey']);
    await expectIndexed(() => new A('ClientCredentials').destroy('ClientCredentials-60001'), ['oidc_payloads_pkey']);
    await expectIndexed(() => new A('AccessToken').revokeByGrantId('g7000'), ['oidc_payloads_grant_idx']);
  });

  it("an account's sessions: listed and ended", async () => {
    await expectIndexed(() => accountSessionPayloads(db, db.knex, 'acc1008'), ['oidc_payloads_account_idx']);
    await expectIndexed(() => db.knex.transaction((trx) => endAccountSessions(db, trx, 'acc1008')), ['oidc_payloads_account_idx']);
  });

  it('the sweeps: expired payloads in batches, expired sessions', async () => {
    await expectIndexed(() => sweepExpiredPayloads(db, clock), ['rowid of oidc_payloads', 'oidc_payloads_expires_at_index']);
    const endings = createSessionEndings(db, clock, { idleTimeoutSeconds: 1800, maxLifetimeSeconds: 8 * 3600 });
    await expectIndexed(() => endings.claimExpired(100), ['oidc_payloads_session_expiry_idx', 'rowid of oidc_payloads']);
  });

  it('retention', async () => {
    const audit = createAuditLog(db, clock);
    let deleted: string[] = [];
    const work = async () => {
      deleted = await deleteInactiveAccounts(db, clock, { retentionDays: 730, audit });
    };
    await expectIndexed(work, ['accounts_last_active_idx', 'accounts_pkey', 'local_credentials_pkey', 'oidc_payloads_account_idx']);
    expect(deleted).toHaveLength(RETENTION_DUE - 1);
  });

  it('the rate-limit upsert and its key lookups', async () => {
    const limits = createRateLimits(db, clock);
    await expectIndexed(() => limits.countInWindow('login:ip:500', 60), ['rate_limits_pkey'], []);
    // A hit is one upsert now, like countInWindow: SQLite's plan of an upsert names no index.
    await expectIndexed(() => limits.hit('login:ip:501', counterRule({ kind: 'window', limit: 5, windowSeconds: 60 })), ['rate_limits_pkey'], []);
  });

  it("the audit trail by account and by time", async () => {
    await expectIndexed(() => queryAudit(db, { accountId: 'acc42' }), ['audit_events_account_idx']);
    await expectIndexed(() => queryAudit(db, { since: NOW - 5000, until: NOW - 4000 }), ['audit_events_at_index']);
  });
});
