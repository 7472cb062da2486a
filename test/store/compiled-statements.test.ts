/**
 * Statements compiled once by knex and sent with new values (src/store/compiled-statements.ts), on each
 * dialect: what is sent is the text the builder produces for those values, the builder runs once per
 * shape, new values reach every place they are used, and a placeholder that does not reach the SQL as a
 * whole binding is an error at the first use, never a statement with a lost value.
 */
import type { Knex } from 'knex';
import { changedRowsOf, compiledStatements, rowsOf, sentPrepared } from '../../src/store/compiled-statements.js';
import { openDatabase } from '../../src/store/db.js';
import { createTestDatabase, dialects, postgresUrl, type TestDatabase } from '../support/databases.js';

describe.each(dialects)('compiled statements on %s', (dialect) => {
  let db: TestDatabase;
  let sent: Array<{ sql: string; bindings: unknown[] }> = [];

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    await db.knex.schema.createTable('compiled_probe', (t) => {
      t.string('k').primary();
      t.string('v');
      t.bigInteger('n');
    });
    db.knex.on('query', (q: { sql: string; bindings: unknown[] }) => sent.push({ sql: q.sql, bindings: q.bindings }));
  });
  afterAll(async () => {
    await db.knex.schema.dropTable('compiled_probe');
    await db.close();
  });
  beforeEach(async () => {
    await db.knex('compiled_probe').del();
    sent = [];
  });

  const select = (knex: Knex, p: { k: string; n: number }) =>
    knex('compiled_probe')
      .select('k', 'v')
      .where('k', p.k)
      .andWhere((q) => q.whereNull('n').orWhere('n', '>', p.n).orWhere('n', '=', p.n))
      .limit(5);

  test('sends the builder’s own text with the new values, and builds each shape once', async () => {
    await db.knex('compiled_probe').insert([
      { k: 'a', v: 'A', n: 10 },
      { k: 'b', v: 'B', n: null },
    ]);
    const statements = compiledStatements<{ k: string; n: number }>(db.knex, ['k', 'n']);
    let builds = 0;
    const build = (p: { k: string; n: number }) => {
      builds += 1;
      return select(db.knex, p);
    };
    sent = [];
    expect(rowsOf(await statements.statement('one', build, { k: 'a', n: 5 }))).toEqual([{ k: 'a', v: 'A' }]);
    expect(rowsOf(await statements.statement('one', build, { k: 'a', n: 10 }))).toEqual([{ k: 'a', v: 'A' }]);
    expect(rowsOf(await statements.statement('one', build, { k: 'a', n: 11 }))).toEqual([]);
    expect(rowsOf(await statements.statement('one', build, { k: 'b', n: 99 }))).toEqual([{ k: 'b', v: 'B' }]);
    expect(builds).toBe(1);
    // Exactly what the builder sends for the same values: text, and every binding in its place.
    const expected = select(db.knex, { k: 'b', n: 99 }).toSQL().toNative();
    expect(sent[3]).toEqual({ sql: expected.sql, bindings: expected.bindings });
  });

  test('writes report the rows they changed; null values are sent as null', async () => {
    const statements = compiledStatements<{ k: string; v: string | null }>(db.knex, ['k', 'v']);
    const insert = (p: { k: string; v: string | null }) => db.knex('compiled_probe').insert({ k: p.k, v: p.v, n: 1 });
    await statements.statement('insert', insert, { k: 'x', v: null });
    await statements.statement('insert', insert, { k: 'y', v: 'Y' });
    expect(await db.knex('compiled_probe').orderBy('k').select('k', 'v')).toEqual([
      { k: 'x', v: null },
      { k: 'y', v: 'Y' },
    ]);
    const update = (p: { k: string; v: string | null }) => db.knex('compiled_probe').where('k', p.k).update({ v: p.v });
    expect(changedRowsOf(await statements.statement('update', update, { k: 'x', v: 'X' }))).toBe(1);
    expect(changedRowsOf(await statements.statement('update', update, { k: 'nobody', v: 'X' }))).toBe(0);
  });

  test('a placeholder that does not reach the SQL as a whole binding is refused before anything is sent', async () => {
    const statements = compiledStatements<{ k: string; n: number }>(db.knex, ['k', 'n']);
    // n is never used: its value would be lost.
    expect(() => statements.statement('unused', (p) => db.knex('compiled_probe').where('k', p.k), { k: 'a', n: 1 })).toThrow(/do not reach the SQL: n/);
    // Pasted into the text, or into a longer value: the shape would freeze the first value.
    expect(() => statements.statement('text', (p) => db.knex('compiled_probe').whereRaw(`k = '${p.k}'`).andWhere('n', p.n), { k: 'a', n: 1 })).toThrow(/in the SQL text/);
    expect(() => statements.statement('longer', (p) => db.knex('compiled_probe').where('k', `${p.k}%`).andWhere('n', p.n), { k: 'a', n: 1 })).toThrow(/did not pass through whole/);
    expect(sent).toEqual([]);
  });
});

/**
 * On PostgreSQL a compiled statement, and any text sent with `sentPrepared`, is a named prepared statement:
 * one entry per text on a connection, used again at every execution (pg_prepared_statements counts its
 * plans), unless the database was opened with preparedStatements false; and only so many texts get a name.
 */
const onPostgres = dialects.includes('postgres') ? describe : describe.skip;
onPostgres('prepared statements on postgres', () => {
  let migrated: TestDatabase;
  /** The schema's tables over one connection, so that what it prepared can be read back on it. */
  let db: { knex: Knex; schema: string; close(): Promise<void> };
  beforeAll(async () => {
    migrated = await createTestDatabase('postgres');
    const single = openDatabase({ databaseUrl: postgresUrl, schema: migrated.schema, poolMax: 1 });
    db = { knex: single.knex, schema: migrated.schema!, close: () => single.close() };
    await db.knex.schema.createTable('prepared_probe', (t) => {
      t.string('k').primary();
      t.string('v');
    });
    await db.knex('prepared_probe').insert({ k: 'a', v: 'A' });
  });
  afterAll(async () => {
    await db?.close();
    await migrated?.close();
  });

  interface Prepared {
    name: string;
    statement: string;
    plans: number;
  }
  /** The prepared statements of the pool's one connection. */
  async function preparedOf(knex: Knex): Promise<Prepared[]> {
    const result = (await knex.raw('select name, statement, (generic_plans + custom_plans)::int as plans from pg_prepared_statements where name like ? order by prepare_time', ['nordlys\\_%'])) as { rows: Prepared[] };
    return result.rows;
  }

  test('a shape is prepared once on the connection and executed by name', async () => {
    const statements = compiledStatements<{ k: string }>(db.knex, ['k']);
    const build = (p: { k: string }) => db.knex('prepared_probe').select('v').where('k', p.k);
    for (const k of ['a', 'b', 'a', 'a', 'c', 'a', 'a']) await statements.statement('by key', build, { k });
    expect(rowsOf(await statements.statement('by key', build, { k: 'a' }))).toEqual([{ v: 'A' }]);
    const prepared = (await preparedOf(db.knex)).filter((p) => p.statement.includes('prepared_probe'));
    expect(prepared).toEqual([{ name: expect.stringMatching(/^nordlys_[0-9a-f]{32}$/), statement: build({ k: 'a' }).toSQL().toNative().sql, plans: 8 }]);
  });

  test('a fixed text sent with sentPrepared is prepared too, one name per text', async () => {
    for (let i = 0; i < 3; i += 1) await sentPrepared(db.knex, 'select v from prepared_probe where k = ?', ['a']);
    await sentPrepared(db.knex, 'select v from prepared_probe where k = ? or k = ?', ['a', 'b']);
    const prepared = (await preparedOf(db.knex)).filter((p) => p.statement.startsWith('select v from prepared_probe where k = $1'));
    expect(prepared.map((p) => [p.statement, p.plans])).toEqual([
      ['select v from prepared_probe where k = $1', 3],
      ['select v from prepared_probe where k = $1 or k = $2', 1],
    ]);
    expect(new Set(prepared.map((p) => p.name)).size).toBe(2);
  });

  test('opened with preparedStatements false, nothing is prepared', async () => {
    const unprepared = openDatabase({ databaseUrl: postgresUrl, schema: db.schema, poolMax: 1, preparedStatements: false });
    try {
      const statements = compiledStatements<{ k: string }>(unprepared.knex, ['k']);
      expect(rowsOf(await statements.statement('by key', (p) => unprepared.knex('prepared_probe').select('v').where('k', p.k), { k: 'a' }))).toEqual([{ v: 'A' }]);
      expect(rowsOf(await sentPrepared(unprepared.knex, 'select v from prepared_probe where k = ?', ['a']))).toEqual([{ v: 'A' }]);
      expect(await preparedOf(unprepared.knex)).toEqual([]);
    } finally {
      await unprepared.close();
    }
  });

  test('past the cap on names, a text is still answered, unnamed', async () => {
    // More distinct texts than any process makes: each is answered, and the connection keeps a bounded number.
    for (let i = 0; i < 300; i += 1) expect(rowsOf(await sentPrepared(db.knex, `select ?::int + ${i} as n`, [1]))).toEqual([{ n: 1 + i }]);
    expect((await preparedOf(db.knex)).length).toBeLessThanOrEqual(256);
  });
});
