/**
 * The migration lock is the schema's on PostgreSQL: while it is held for schema A, a deployment in
 * schema B of the same server migrates without waiting, and A's own migrator waits (here: until its
 * short statement timeout refuses it, so nothing is timed).
 */
import type { Knex } from 'knex';
import { lockMigrations, migrateLatest } from '../../src/store/migrate.js';
import { openDatabase, type Database } from '../../src/store/db.js';
import { createTestDatabase, postgresUrl, type TestDatabase } from '../support/databases.js';

const runOrSkip = postgresUrl ? describe : describe.skip;

runOrSkip('the migration lock per schema on PostgreSQL', () => {
  let a: TestDatabase;
  let b: TestDatabase;
  let holder: Database;
  let impatient: Database;

  beforeAll(async () => {
    a = await createTestDatabase('postgres');
    b = await createTestDatabase('postgres');
    holder = a.openTwin();
    impatient = openDatabase({ databaseUrl: postgresUrl, schema: a.schema!, statementTimeoutMs: 200, poolMax: 2 });
  });
  afterAll(async () => {
    await impatient?.close();
    await holder?.close();
    await a?.close();
    await b?.close();
  });

  test("schema A's held lock does not hold back schema B; A's own migrator waits for it", async () => {
    const trx: Knex.Transaction = await holder.knex.transaction();
    try {
      await lockMigrations(trx);
      // A global key would make this wait until the lock is released (here: the jest timeout).
      await expect(migrateLatest(b)).resolves.toEqual([]);
      await expect(migrateLatest(impatient)).rejects.toThrow(/statement timeout/);
    } finally {
      await trx.rollback();
    }
    await expect(migrateLatest(impatient)).resolves.toEqual([]);
  });
});
