/**
 * The classification of database errors (pure): the shapes knex, pg, tarn and better-sqlite3 produce
 * when the database is down, stalled or busy count as "unavailable", also when wrapped; constraint,
 * syntax and programming errors do not. A unique or primary key violation is recognised as such from
 * the errors each dialect really raises, and other constraint errors are not.
 */
import { describeDatabaseError, isDatabaseUnavailable, isUniqueViolation } from '../../src/store/db-errors.js';
import { createTestDatabase, dialects, type TestDatabase } from '../support/databases.js';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  test.each<[string, unknown]>([
    ['knex pool timeout', Object.assign(new Error('Knex: Timeout acquiring a connection. The pool is probably full.'), { name: 'KnexTimeoutError' })],
    ['tarn timeout', Object.assign(new Error('operation timed out for an unknown reason'), { name: 'TimeoutError' })],
    ['connection refused', withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['connection reset', withCode('ECONNRESET', 'read ECONNRESET')],
    ['host unreachable', withCode('EHOSTUNREACH')],
    ['statement_timeout (57014)', withCode('57014', 'canceling statement due to statement timeout')],
    ['admin shutdown (57P01)', withCode('57P01', 'terminating connection due to administrator command')],
    ['starting up (57P03)', withCode('57P03', 'the database system is starting up')],
    ['too many connections (53300)', withCode('53300')],
    ['connection exception class 08', withCode('08006')],
    ['lock timeout (55P03)', withCode('55P03')],
    ['serialization failure (40001)', withCode('40001')],
    ['pg: connection terminated', new Error('Connection terminated unexpectedly')],
    ['pg: connect timeout', new Error('Connection terminated due to connection timeout')],
    ['pg: read timeout, knex-prefixed', new Error('select "payload" from "oidc_payloads" where "id" = $1 - Query read timeout')],
    ['pg: not queryable', new Error('Client has encountered a connection error and is not queryable')],
    ['sqlite busy', withCode('SQLITE_BUSY', 'database is locked')],
    ['sqlite busy snapshot', withCode('SQLITE_BUSY_SNAPSHOT')],
    ['wrapped in a cause', new Error('could not load the session', { cause: withCode('ECONNREFUSED') })],
    ['inside an AggregateError', new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], 'connect failed')],
  ])('%s: unavailable', (_name, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  test.each<[string, unknown]>([
    ['unique violation', withCode('23505', 'duplicate key value violates unique constraint')],
    ['sqlite unique violation', withCode('SQLITE_CONSTRAINT_UNIQUE', 'UNIQUE constraint failed: x.y')],
    ['syntax error', withCode('42601', 'syntax error at or near "selec"')],
    ['undefined table', withCode('42P01')],
    ['programming error', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['an OIDC error', Object.assign(new Error('invalid_grant'), { name: 'InvalidGrant', statusCode: 400 })],
    ['not an error', 'ECONNREFUSED'],
    ['nothing', undefined],
  ])('%s: not unavailable', (_name, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false);
  });

  test('a cyclic cause chain ends', () => {
    const a: Error & { cause?: unknown } = new Error('a');
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(isDatabaseUnavailable(a)).toBe(false);
  });

  test('the log summary keeps name, code and the first line, and never a stack', () => {
    const err = Object.assign(new Error('insert into "t" ("a") values ($1) - Connection terminated\n    at stack frame'), { code: '57P01' });
    expect(describeDatabaseError(err)).toEqual({ name: 'Error', errorCode: '57P01', message: 'insert into "t" ("a") values ($1) - Connection terminated' });
  });
});

describe.each(dialects)('isUniqueViolation on %s', (dialect) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    await db.knex.schema.createTable('unique_probe', (t) => {
      t.string('id').primary();
      t.string('name').unique();
      t.string('note').notNullable();
    });
    await db.knex('unique_probe').insert({ id: 'a', name: 'first', note: 'x' });
  });
  afterAll(() => db.close());

  const failure = (row: Record<string, unknown>) => db.knex('unique_probe').insert(row).then(() => undefined, (err: unknown) => err);

  test('a taken primary key or unique column is a unique violation', async () => {
    expect(isUniqueViolation(await failure({ id: 'a', name: 'second', note: 'x' }))).toBe(true);
    expect(isUniqueViolation(await failure({ id: 'b', name: 'first', note: 'x' }))).toBe(true);
  });

  test('another constraint, or no error, is not', async () => {
    const notNull = await failure({ id: 'c', name: 'third', note: null });
    // (Not toBeInstanceOf(Error): better-sqlite3's errors may come from another realm than jest's.)
    expect(notNull).toHaveProperty('message', expect.stringMatching(/not.null/i));
    expect(isUniqueViolation(notNull)).toBe(false);
    expect(isUniqueViolation(undefined)).toBe(false);
    expect(isUniqueViolation(new Error('boom'))).toBe(false);
  });
});
