/**
 * Statements compiled once by knex and sent with new values (src/store/compiled-statements.ts), on each
 * dialect: what is sent is the text the builder produces for those values, the builder runs once per
 * shape, new values reach every place they are used, and a placeholder that does not reach the SQL as a
 * whole binding is an error at the first use, never a statement with a lost value.
 */
import type { Knex } from 'knex';
import { changedRowsOf, compiledStatements, rowsOf } from '../../src/store/compiled-statements.js';
import { createTestDatabase, dialects, type TestDatabase } from '../support/databases.js';

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
