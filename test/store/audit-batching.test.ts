/**
 * Audit events are group-committed (issue 13), on each dialect: a lone event is stored by its own insert
 * at once; events that arrive while an insert is in flight go in the next one, at most BATCH_ROWS per
 * statement, in the order they were recorded; each is logged once stored. record() resolves only once its
 * own row is stored and rejects when its insert fails; an event in a transaction is inserted in it.
 * Background events: past the queue limit they are dropped and the drop is logged as a warning; a database
 * that fails is logged and settled() still resolves. Counted with knex's `query` event, so nothing here is timed.
 */
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger.js';
import { systemClock } from '../../src/clock.js';
import { BATCH_ROWS, createAuditLog } from '../../src/store/audit.js';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';

describe.each(dialects)('background audit events on %s', (dialect) => {
  let db: TestDatabase;
  /** Rows per insert statement, in the order they were sent (every row has the same nine columns). */
  let inserts: number[];
  const lines: string[] = [];
  const logger = createLogger('info', new Writable({ write: (c, _e, cb) => { lines.push(String(c)); cb(); } }));
  const logged = () => lines.map((l) => JSON.parse(l) as { audit?: boolean; event?: string; msg: string; level: number });

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    db.knex.on('query', (q: { sql: string; bindings?: unknown[] }) => {
      if (/insert into [`"]audit_events[`"]/i.test(q.sql)) inserts.push((q.bindings?.length ?? 0) / 9);
    });
  });
  beforeEach(async () => {
    await db.knex('audit_events').del();
    inserts = [];
    lines.length = 0;
  });
  afterAll(async () => db.close());

  const stored = async () => (await db.knex('audit_events').orderBy('id').select('event')).map((r: { event: string }) => r.event);

  test('the first event goes at once; those recorded meanwhile share the next statement, in order', async () => {
    const audit = createAuditLog(db, systemClock, { logger });
    audit.recordInBackground({ event: 'test.e0', outcome: 'success' });
    for (let i = 1; i <= 5; i++) audit.recordInBackground({ event: `test.e${i}`, outcome: 'success' });
    await audit.settled();
    // e0 was taken by its own insert the moment it was recorded; e1–e5 waited for it and went together.
    expect(inserts).toEqual([1, 5]);
    expect(await stored()).toEqual(['test.e0', 'test.e1', 'test.e2', 'test.e3', 'test.e4', 'test.e5']);
    expect(logged().filter((l) => l.audit).map((l) => l.event)).toEqual(['test.e0', 'test.e1', 'test.e2', 'test.e3', 'test.e4', 'test.e5']);
    // Idle again: the next lone event has its own statement.
    audit.recordInBackground({ event: 'test.e6', outcome: 'success' });
    await audit.settled();
    expect(inserts).toEqual([1, 5, 1]);
  });

  test('record() waits for its own row, which shares a statement with those recorded meanwhile', async () => {
    const audit = createAuditLog(db, systemClock, { logger });
    const seen: string[][] = [];
    const waiting = [0, 1, 2].map((i) =>
      audit.record({ event: `test.r${i}`, outcome: 'success' }).then(async () => seen.push(await stored())),
    );
    audit.recordInBackground({ event: 'test.b', outcome: 'success' });
    await Promise.all(waiting);
    expect(inserts).toEqual([1, 3]);
    // Each caller found its own row stored when record() resolved.
    for (const [i, rows] of seen.entries()) expect(rows).toContain(`test.r${i}`);
    expect(await stored()).toEqual(['test.r0', 'test.r1', 'test.r2', 'test.b']);
    // In a transaction: alone, inside it.
    await db.knex.transaction((trx) => audit.record({ event: 'test.trx', outcome: 'success' }, trx));
    expect(inserts).toEqual([1, 3, 1]);
  });

  test(`at most ${BATCH_ROWS} rows per statement`, async () => {
    const audit = createAuditLog(db, systemClock);
    const n = 1 + 2 * BATCH_ROWS + 7;
    for (let i = 0; i < n; i++) audit.recordInBackground({ event: 'test.many', outcome: 'success', detail: { i } });
    await audit.settled();
    expect(inserts).toEqual([1, BATCH_ROWS, BATCH_ROWS, 7]);
    const rows = (await db.knex('audit_events').orderBy('id').select('detail')) as Array<{ detail: string }>;
    expect(rows.map((r) => (JSON.parse(r.detail) as { i: number }).i)).toEqual([...Array(n).keys()]);
  });

  test('past the queue limit events are dropped, and the drop is a warning', async () => {
    const audit = createAuditLog(db, systemClock, { logger, queueLimit: 3 });
    for (let i = 0; i < 6; i++) audit.recordInBackground({ event: `test.q${i}`, outcome: 'success' });
    await audit.settled();
    // q0 was in flight, q1–q3 waited, q4 and q5 found the queue full.
    expect(await stored()).toEqual(['test.q0', 'test.q1', 'test.q2', 'test.q3']);
    const warning = logged().find((l) => l.level === 40);
    expect(warning?.msg).toBe('2 audit event(s) dropped: more than 3 were waiting for the database');
  });

  test('a database that fails: a warning per statement, and settled() resolves', async () => {
    const broken = await createTestDatabase(dialect);
    await broken.close();
    const audit = createAuditLog(broken, systemClock, { logger });
    audit.recordInBackground({ event: 'test.lost', outcome: 'success' });
    audit.recordInBackground({ event: 'test.lost', outcome: 'success' });
    await audit.settled();
    const warnings = logged().filter((l) => l.level === 40).map((l) => l.msg);
    expect(warnings).toEqual(['1 audit event(s) could not be stored', '1 audit event(s) could not be stored']);
    // A caller that waits gets the error itself (and nothing is logged for it here).
    await expect(audit.record({ event: 'test.lost', outcome: 'success' })).rejects.toThrow();
    await expect(Promise.all([audit.record({ event: 'test.lost', outcome: 'success' }), audit.record({ event: 'test.lost', outcome: 'success' })])).rejects.toThrow();
    await audit.settled();
    expect(logged().filter((l) => l.level === 40)).toHaveLength(2);
    expect(logged().filter((l) => l.audit)).toHaveLength(0);
  });
});
