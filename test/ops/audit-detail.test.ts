/**
 * What an audit event may hold, on each dialect: secret-shaped detail fields are dropped, a national
 * identity number (as an identifier field, or inside any value) is kept only as a keyed hash that is the
 * same for the same number under the same instance secret and different under another; an event written
 * in a transaction that rolls back is neither stored nor logged.
 */
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger.js';
import { systemClock } from '../../src/clock.js';
import { createAuditLog } from '../../src/store/audit.js';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';

const KARI = '14038541286';
const PERSONNUMMER = '199001011234';

describe.each(dialects)('audit event contents on %s', (dialect) => {
  let db: TestDatabase;
  const lines: string[] = [];
  const logger = createLogger('info', new Writable({ write: (c, _e, cb) => { lines.push(String(c)); cb(); } }));
  beforeAll(async () => {
    db = await createTestDatabase(dialect);
  });
  afterAll(async () => db.close());

  test('secrets dropped, identifiers hashed with the instance key, in the row and in the log line', async () => {
    const audit = createAuditLog(db, systemClock, { logger, hashKey: 'k'.repeat(64) });
    await audit.record({ event: 'test.detail', outcome: 'success', detail: { nationalId: KARI, note: `upstream sent ${PERSONNUMMER}`, password: 'Hunter2!', client_secret: 'cs', reason: 'ok' } });
    await audit.record({ event: 'test.detail', outcome: 'success', detail: { pid: KARI } });
    const [second, first] = await audit.recent(2);
    expect(first!.detail).toEqual({ nationalId: expect.stringMatching(/^hmac:[0-9a-f]{32}$/), note: expect.stringMatching(/^upstream sent hmac:[0-9a-f]{32}$/), reason: 'ok' });
    expect(second!.detail!.pid).toBe(first!.detail!.nationalId); // the same person correlates
    expect(first!.actor).toBe('system');
    const other = createAuditLog(db, systemClock, { hashKey: 'z'.repeat(64) });
    expect(other.identifierHash(KARI)).not.toBe(first!.detail!.nationalId);
    const all = lines.join('') + JSON.stringify(await audit.recent(10));
    for (const leak of [KARI, PERSONNUMMER, 'Hunter2!', '"cs"']) expect(all).not.toContain(leak);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.audit === true)).toHaveLength(2);
  });

  test('an event in a rolled-back transaction is neither stored nor logged', async () => {
    const before = lines.length;
    const audit = createAuditLog(db, systemClock, { logger });
    await expect(
      db.knex.transaction(async (trx) => {
        await audit.record({ event: 'test.rollback', outcome: 'success' }, trx);
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    await db.knex.transaction((trx) => audit.record({ event: 'test.commit', outcome: 'success' }, trx));
    await audit.settled();
    const events = (await audit.recent(5)).map((e) => e.event);
    expect(events).toContain('test.commit');
    expect(events).not.toContain('test.rollback');
    const logged = lines.slice(before).map((l) => (JSON.parse(l) as { event?: string }).event);
    expect(logged).toEqual(['test.commit']);
  });
});
