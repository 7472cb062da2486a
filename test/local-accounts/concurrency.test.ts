/**
 * One-time codes are used once, on each dialect: 50 concurrent submissions of the right code — over
 * HTTP through one browser, and straight at the store through a connection pool — succeed exactly
 * once; every attempt is counted before the check; a wrong code never consumes; the stored code is an
 * HMAC, not the code.
 */
import { createFlowRepository } from '../../src/store/flows.js';
import { systemClock } from '../../src/clock.js';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';
import { beginLogin, requestCode } from '../support/local-accounts.js';

describe.each(dialects)('one-time codes under concurrency on %s', (dialect) => {
  let db: TestDatabase;
  let smtp: TestSmtp;
  let server: RunningService;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    smtp = await startSmtp();
    // Enough tries that all 50 reach the comparison: the conditional consume alone must decide.
    server = await startService({ db, env: { SMTP_URL: smtp.url, CODE_MAX_ATTEMPTS: '60' } });
  });
  afterAll(async () => {
    await server.close();
    await smtp.close();
    await db.close();
  });

  test('50 concurrent right codes over HTTP: exactly one goes on, 49 are told it was used', async () => {
    const email = 'race@example.no';
    const login = await beginLogin(server);
    const codePage = await requestCode(login, 'register', email);
    const code = smtp.codeFor(email);
    const flowId = codePage.url.split('/').at(-1)!;
    const row = await db.knex('self_service_flows').where({ id: flowId }).first();
    expect(row.code_hmac).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(code);

    const pages = await Promise.all(Array.from({ length: 50 }, () => login.browser.submit(codePage, /\/code$/, { code })));
    const winners = pages.filter((p) => p.status === 200 && p.html.includes('autocomplete="new-password"'));
    const losers = pages.filter((p) => p.status === 409 && p.html.includes('This code has already been used.'));
    expect([winners.length, losers.length]).toEqual([1, 49]);
    const after = await db.knex('self_service_flows').where({ id: flowId }).first();
    expect(after.state).toBe('verified');
    expect(Number(after.code_attempts)).toBeLessThanOrEqual(50);
    const checks = await db.knex('audit_events').where({ event: 'registration.code_checked', outcome: 'success' });
    expect(checks).toHaveLength(1);
  });

  test('50 concurrent right codes at the store: one verified, the rest used; attempts counted first', async () => {
    const twin = db.openTwin();
    try {
      const flows = createFlowRepository(twin, systemClock, { codeKey: Buffer.alloc(32, 7), codeTtlSeconds: 300, flowTtlSeconds: 1800, maxAttempts: 100 });
      const flow = await flows.create({ kind: 'recovery', interactionUid: 'uid-1', locale: 'en', email: 'a@example.no', accountId: null, code: '123456' });
      const wrong = await flows.checkCode(flow.id, '654321');
      expect(wrong).toEqual({ result: 'wrong', attemptsLeft: 99 });
      const results = await Promise.all(Array.from({ length: 50 }, () => flows.checkCode(flow.id, '123456')));
      const counts = results.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.result]: (acc[r.result] ?? 0) + 1 }), {});
      expect(counts).toEqual({ verified: 1, used: 49 });
      const row = await twin.knex('self_service_flows').where({ id: flow.id }).first();
      // The wrong try and every right one that got past the state check were counted before comparing.
      expect(Number(row.code_attempts)).toBeGreaterThanOrEqual(2);
      expect(Number(row.code_attempts)).toBeLessThanOrEqual(51);

      // At the limit, even the right code is refused: the counter is incremented before the check.
      const capped = createFlowRepository(twin, systemClock, { codeKey: Buffer.alloc(32, 7), codeTtlSeconds: 300, flowTtlSeconds: 1800, maxAttempts: 2 });
      const f2 = await capped.create({ kind: 'registration', interactionUid: 'uid-2', locale: 'en', email: 'b@example.no', accountId: null, code: '111111' });
      expect(await capped.checkCode(f2.id, '222222')).toEqual({ result: 'wrong', attemptsLeft: 1 });
      expect(await capped.checkCode(f2.id, '333333')).toEqual({ result: 'wrong', attemptsLeft: 0 });
      expect(await capped.checkCode(f2.id, '111111')).toEqual({ result: 'too_many_attempts' });

      // A flow whose mail carried no code can never be verified.
      const silent = await flows.create({ kind: 'recovery', interactionUid: 'uid-3', locale: 'en', email: 'c@example.no', accountId: null, code: undefined });
      const tries = await Promise.all(['000000', '123456', '999999'].map((c) => flows.checkCode(silent.id, c)));
      expect(tries.every((t) => t.result === 'wrong')).toBe(true);
    } finally {
      await twin.close();
    }
  });
});
