/**
 * A database that is busy beyond the statement timeout, on each dialect: another process holds a lock
 * (SQLite: an exclusive write lock; PostgreSQL: an access-exclusive lock on the provider's table, in this
 * test's own schema). Requests that need it are answered 503 with Retry-After — `temporarily_unavailable`
 * at the token endpoint, the localised page at /auth — not 500, not a hang; once the lock is gone the same
 * instance answers again.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { dialects, createTestDatabase, postgresUrl, type TestDatabase } from '../support/databases.js';
import { startService, CONFIDENTIAL_SECRET, RP, type RunningService } from '../support/service.js';
import { openDatabase, type Database } from '../../src/store/db.js';
import { migrateLatest } from '../../src/store/migrate.js';
import { en } from '../../src/i18n/messages/en.js';

const machineAuth = `Basic ${Buffer.from(`machine:${CONFIDENTIAL_SECRET}`).toString('base64')}`;
const AUTH_PATH = `/auth?client_id=pub&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(RP)}&code_challenge=${'x'.repeat(43)}&code_challenge_method=S256`;

interface Lock {
  take(): Promise<void>;
  release(): Promise<void>;
}

describe.each(dialects)('a locked database on %s', (dialect) => {
  let schemaDb: TestDatabase | undefined;
  let sqliteFile: string | undefined;
  let db: Database;
  let server: RunningService;
  let lock: Lock;

  beforeAll(async () => {
    let holder: Database;
    let holdLock: (trx: Knex.Transaction) => Promise<unknown>;
    if (dialect === 'sqlite') {
      sqliteFile = path.join(os.tmpdir(), `nordlys-busy-${crypto.randomBytes(6).toString('hex')}.sqlite`);
      db = openDatabase({ sqliteFile, statementTimeoutMs: 200, acquireTimeoutMs: 3000 });
      await migrateLatest(db);
      // Another connection (as the CLI would be) that has begun writing holds SQLite's one write lock.
      holder = openDatabase({ sqliteFile });
      holdLock = (trx) => trx.raw('create table lock_holder (x integer)');
    } else {
      // Our own schema on the shared server; a second pool of our own with a short statement timeout.
      schemaDb = await createTestDatabase('postgres');
      db = openDatabase({ databaseUrl: postgresUrl, schema: schemaDb.schema!, statementTimeoutMs: 300, acquireTimeoutMs: 3000, poolMax: 5 });
      holder = schemaDb.openTwin();
      holdLock = (trx) => trx.raw('lock table oidc_payloads in access exclusive mode');
    }
    let trx: Knex.Transaction | undefined;
    lock = {
      take: async () => {
        trx = await holder.knex.transaction();
        await holdLock(trx);
      },
      release: async () => {
        await trx!.rollback();
        await holder.close();
      },
    };
    server = await startService({ db, env: { RETRY_AFTER_SECONDS: '3' } });
  });
  afterAll(async () => {
    await server.close();
    await db.close();
    await schemaDb?.close();
    if (sqliteFile) for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${sqliteFile}${suffix}`, { force: true });
  });

  const token = () =>
    fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { authorization: machineAuth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'openid' }),
    });

  test('503 with Retry-After while locked, served again once the lock is gone', async () => {
    expect((await token()).status).toBe(200);
    await lock.take();
    try {
      const busy = await token();
      expect([busy.status, busy.headers.get('retry-after')]).toEqual([503, '3']);
      expect(await busy.json()).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
      const page = await fetch(`${server.url}${AUTH_PATH}`, { headers: { accept: 'text/html', 'accept-language': 'en' }, redirect: 'manual' });
      expect([page.status, page.headers.get('retry-after')]).toEqual([503, '3']);
      expect(await page.text()).toContain(en['unavailable.message']);
    } finally {
      await lock.release();
    }
    expect((await token()).status).toBe(200);
    expect((await fetch(`${server.url}${AUTH_PATH}`, { redirect: 'manual' })).status).toBe(303);
  });
});
