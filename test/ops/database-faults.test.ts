/**
 * Database trouble is bounded and honest, on a PostgreSQL server of the test's own (never the shared one):
 * - real errors of a down, stalled or busy database are recognised as "unavailable"; a constraint or
 *   syntax error is not;
 * - the server stopped mid-load: every answer is a success or a 503 with Retry-After (temporarily_unavailable
 *   at the protocol endpoints, the localised "try again shortly" page on ours), /readyz says 503, and once
 *   it is back the service recovers by itself and every account whose creation was answered with success exists;
 * - the server stalled (SIGSTOP) mid-load: the same, every request answered 503 instead of hanging;
 * - knex's own log lines are JSON through pino, nothing printed beside them.
 * Skipped only where the PostgreSQL binaries are missing (CI has them).
 */
import { jest } from '@jest/globals';
import knexFactory from 'knex';
import { findPostgresBin, startOwnPostgres, type OwnPostgres } from '../support/own-postgres.js';
import { startService, freePort, CONFIDENTIAL_SECRET, RP, type RunningService } from '../support/service.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';
import { runRegistrationLoad, newTally, type Tally } from '../support/registration-load.js';
import { openDatabase } from '../../src/store/db.js';
import { isDatabaseUnavailable } from '../../src/store/db-errors.js';
import { en } from '../../src/i18n/messages/en.js';
import { nb } from '../../src/i18n/messages/nb.js';
import { sv } from '../../src/i18n/messages/sv.js';
import { uk } from '../../src/i18n/messages/uk.js';

const bin = findPostgresBin();
if (!bin) {
  console.warn('SKIPPED database fault tests: no PostgreSQL binaries (initdb, pg_ctl) under /usr/lib/postgresql. Install postgresql to run them.');
}
const withPostgres = bin ? describe : describe.skip;

const RETRY_AFTER = '7';
// Short enough to keep the stalled phase brief, long enough to connect on a busy CI machine.
const ENV = {
  DB_ACQUIRE_TIMEOUT_MS: '3000',
  DB_STATEMENT_TIMEOUT_MS: '1500',
  REQUEST_DEADLINE_MS: '6000',
  READY_TIMEOUT_MS: '500',
  RETRY_AFTER_SECONDS: RETRY_AFTER,
  CODE_SENDS_PER_IP_HOURLY: '100000',
  // The deadline must outlast the upstreams' timeouts (a config rule); no upstream is called here.
  IDPORTEN_TIMEOUT_MS: '1000',
  BANKID_TIMEOUT_MS: '1000',
};
const AUTH_PATH = `/auth?client_id=pub&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(RP)}&code_challenge=${'x'.repeat(43)}&code_challenge_method=S256`;
const machineAuth = `Basic ${Buffer.from(`machine:${CONFIDENTIAL_SECRET}`).toString('base64')}`;
const titles = { en: en['unavailable.title'], nb: nb['unavailable.title'], sv: sv['unavailable.title'], uk: uk['unavailable.title'] };

/** Expects what `promise` rejects with and returns it. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

withPostgres('database faults on a PostgreSQL server of our own', () => {
  let pg: OwnPostgres;
  let smtp: TestSmtp;
  let server: RunningService;
  const consoleCalls: unknown[][] = [];
  const figures: Record<string, unknown> = {};

  beforeAll(async () => {
    pg = await startOwnPostgres();
    smtp = await startSmtp();
    for (const method of ['log', 'warn', 'error', 'info', 'debug'] as const) {
      jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void consoleCalls.push(args));
    }
    // No db handed in: the service opens its pool from DATABASE_URL and the timeouts above, as in production.
    server = await startService({ env: { DATABASE_URL: pg.url, SMTP_URL: smtp.url, ...ENV } });
  }, 180_000);

  afterAll(async () => {
    jest.restoreAllMocks();
    console.log(`database fault figures: ${JSON.stringify(figures)}`);
    await server?.close();
    await smtp?.close();
    await pg?.destroy();
  }, 60_000);

  /** The answers every kind of endpoint must give while the database is away (asked all at once); returns how many were 503. */
  async function probeWhileAway(tokenBefore: string, interactionUrl: string): Promise<number> {
    const form = (body: Record<string, string>) => ({
      method: 'POST',
      headers: { authorization: machineAuth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body),
    });
    const html = (locale: string) => ({ headers: { accept: 'text/html', 'accept-language': locale }, redirect: 'manual' as const });
    const probes: Array<[string, Promise<Response>, (body: string) => void]> = [
      ['/readyz', fetch(`${server.url}/readyz`), (b) => expect(JSON.parse(b)).toEqual({ status: 'database unreachable' })],
      ['/token', fetch(`${server.url}/token`, form({ grant_type: 'client_credentials', scope: 'openid' })), (b) =>
        expect(JSON.parse(b)).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) })],
      ['/me', fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${tokenBefore}` } }), (b) => expect(JSON.parse(b)).toMatchObject({ error: 'temporarily_unavailable' })],
      ['/token/introspection', fetch(`${server.url}/token/introspection`, form({ token: tokenBefore })), (b) =>
        expect(JSON.parse(b)).toMatchObject({ error: 'temporarily_unavailable' })],
      ...Object.entries(titles).flatMap(([locale, title]): Array<[string, Promise<Response>, (body: string) => void]> => [
        [`/auth ${locale}`, fetch(`${server.url}${AUTH_PATH}`, html(locale)), (b) => expect([locale, b.includes(title), b.includes('temporarily_unavailable')]).toEqual([locale, true, true])],
        [`interaction page ${locale}`, fetch(interactionUrl, html(locale)), (b) =>
          expect([locale, b.includes(title), b.includes(`href="${new URL(interactionUrl).pathname}"`)]).toEqual([locale, true, true])],
      ]),
    ];
    for (const [what, response, check] of probes) {
      const res = await response;
      expect([what, res.status, res.headers.get('retry-after')]).toEqual([what, 503, RETRY_AFTER]);
      check(await res.text());
    }
    // What needs no database stays up: discovery and the keys are in memory.
    expect((await fetch(`${server.url}/.well-known/openid-configuration`)).status).toBe(200);
    expect((await fetch(`${server.url}/jwks`)).status).toBe(200);
    return probes.length;
  }

  const tokenRequest = () =>
    fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { authorization: machineAuth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'openid' }),
    });

  async function machineToken(): Promise<string> {
    const res = await tokenRequest();
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  async function interactionPage(): Promise<string> {
    const res = await fetch(
      `${server.url}${AUTH_PATH}`,
      { redirect: 'manual' },
    );
    expect(res.status).toBe(303);
    return new URL(res.headers.get('location')!, server.url).toString();
  }

  /** /readyz until it says ready: bounded in count, each try bounded by READY_TIMEOUT_MS; returns the tries. */
  async function awaitReady(): Promise<number> {
    for (let tries = 1; tries <= 60; tries += 1) {
      if ((await fetch(`${server.url}/readyz`)).status === 200) return tries;
    }
    throw new Error('/readyz did not recover');
  }

  async function existingEmails(emails: string[]): Promise<Set<string>> {
    const knex = knexFactory({ client: 'pg', connection: pg.url });
    try {
      const rows = (await knex('local_credentials').whereIn('email', emails).select('email')) as Array<{ email: string }>;
      return new Set(rows.map((r) => r.email));
    } finally {
      await knex.destroy();
    }
  }

  /** Runs the load, strikes once `strikeAfter` registrations are done, probes, heals, and checks the result. */
  async function faultUnderLoad(tag: string, strike: () => Promise<void>, heal: () => Promise<void>): Promise<Tally> {
    const logStart = server.logs.length;
    const tokenBefore = await machineToken();
    const interactionUrl = await interactionPage();
    let openGate!: () => void;
    const back = new Promise<void>((resolve) => (openGate = resolve));
    let struck!: () => void;
    const midLoad = new Promise<void>((resolve) => (struck = resolve));
    const tally = newTally();
    const load = runRegistrationLoad(
      { server, smtp, workers: 4, perWorker: 4, maxAttemptsPerWorker: 12, gate: () => back, tag, onCompleted: (t) => t.completed >= 4 && struck() },
      tally,
    );
    // Beside the registrations, token requests that never pause: what every client sees, counted by the phase in
    // which each was sent (figures only: how many land in which phase depends on timing; the probes assert the 503s).
    type Phase = 'before' | 'striking' | 'away' | 'healing' | 'after';
    let phase: Phase = 'before';
    let loadDone = false;
    const tokens = Object.fromEntries(['before', 'striking', 'away', 'healing', 'after'].map((p) => [p, { success: 0, unavailable: 0 }])) as Record<Phase, { success: number; unavailable: number }>;
    const tokenOther: string[] = [];
    const hammer = Promise.all(
      [0, 1].map(async () => {
        for (let i = 0; i < 1500 && !loadDone; i += 1) {
          const at = phase;
          try {
            const res = await tokenRequest();
            if (res.status === 200) tokens[at].success += 1;
            else if (res.status === 503 && res.headers.get('retry-after') === RETRY_AFTER) tokens[at].unavailable += 1;
            else tokenOther.push(`${res.status} ${await res.text()}`.slice(0, 200));
            await res.body?.cancel();
          } catch (err) {
            tokenOther.push(String(err));
          }
        }
      }),
    );
    await midLoad;
    phase = 'striking';
    await strike();
    phase = 'away';
    const probes = await probeWhileAway(tokenBefore, interactionUrl);
    phase = 'healing';
    const healStarted = performance.now();
    await heal();
    const readyAfterTries = await awaitReady();
    phase = 'after';
    figures[`${tag}: ms from heal to ready`] = Math.round(performance.now() - healStarted);
    figures[`${tag}: /readyz tries to ready`] = readyAfterTries;
    openGate();
    await load;
    loadDone = true;
    await hammer;
    figures[`${tag}: token requests`] = { ...tokens, other: tokenOther.length };
    const answered503 = server.logs
      .slice(logStart)
      .join('')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg?: string; status?: number; ms?: number })
      .filter((l) => l.msg === 'request' && l.status === 503);
    figures[`${tag}: slowest 503 (ms)`] = Math.max(...answered503.map((l) => l.ms ?? 0));
    expect(tokenOther).toEqual([]);
    // Recovered by itself: the same instance, no restart, serves the protocol and our pages again.
    expect(await machineToken()).toEqual(expect.any(String));
    figures[`${tag}: outcomes`] = { success: tally.success, unavailable: tally.unavailable + probes, other: tally.other.length, completed: tally.completed, created: tally.created.length };
    expect(tally.other).toEqual([]);
    expect(tally.completed).toBe(16);
    const found = await existingEmails(tally.created);
    expect(tally.created.filter((email) => !found.has(email))).toEqual([]);
    return tally;
  }

  test('real errors of a database in trouble are recognised; a wrong query is not', async () => {
    const db = openDatabase({ databaseUrl: pg.url, acquireTimeoutMs: 3000, statementTimeoutMs: 200, poolMax: 1 });
    try {
      const slow = await rejection(db.knex.raw('select pg_sleep(2)'));
      expect([(slow as { code?: string }).code, isDatabaseUnavailable(slow)]).toEqual(['57014', true]);
      const trx = await db.knex.transaction();
      const starved = await rejection(db.knex.raw('select 1'));
      expect([(starved as Error).name, isDatabaseUnavailable(starved)]).toEqual(['KnexTimeoutError', true]);
      await trx.rollback();
      const syntax = await rejection(db.knex.raw('selec 1'));
      expect(isDatabaseUnavailable(syntax)).toBe(false);
      await db.knex.raw('create temporary table t (id int primary key)');
      await db.knex.raw('insert into t values (1)');
      const duplicate = await rejection(db.knex.raw('insert into t values (1)'));
      expect([(duplicate as { code?: string }).code, isDatabaseUnavailable(duplicate)]).toEqual(['23505', false]);
      // The pool heals after every one of these: the same pool of one answers again.
      expect((await db.knex.raw('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
    }
    const refused = openDatabase({ databaseUrl: `postgres://postgres@127.0.0.1:${await freePort()}/postgres`, acquireTimeoutMs: 500 });
    try {
      expect(isDatabaseUnavailable(await rejection(refused.knex.raw('select 1')))).toBe(true);
    } finally {
      await refused.close();
    }
  }, 60_000);

  test('stopped mid-load: only successes and 503s, /readyz 503, recovery by itself, no account lost', async () => {
    const tally = await faultUnderLoad('stopped', () => pg.stop('fast'), () => pg.start());
    expect(tally.created.length).toBeGreaterThanOrEqual(16);
  }, 300_000);

  test('stalled mid-load (SIGSTOP): every request answered 503 within the deadline, /readyz 503, recovery after SIGCONT', async () => {
    // A second instance whose database timeouts are longer than its deadline: there the deadline answers.
    const patient = await startService({
      env: { DATABASE_URL: pg.url, ...ENV, DB_ACQUIRE_TIMEOUT_MS: '30000', DB_STATEMENT_TIMEOUT_MS: '30000', REQUEST_DEADLINE_MS: '1500' },
    });
    try {
      const tally = await faultUnderLoad('stalled', async () => {
        await pg.freeze();
        const token = await fetch(`${patient.url}/token`, {
          method: 'POST',
          headers: { authorization: machineAuth, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'openid' }),
        });
        expect([token.status, token.headers.get('retry-after')]).toEqual([503, RETRY_AFTER]);
        expect(await token.json()).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
        const auth = await fetch(`${patient.url}${AUTH_PATH}&ui_locales=sv`, { headers: { accept: 'text/html' }, redirect: 'manual' });
        expect([auth.status, auth.headers.get('retry-after')]).toEqual([503, RETRY_AFTER]);
        expect(await auth.text()).toContain(sv['unavailable.title']);
        expect(patient.logs.join('')).toContain('request deadline');
      }, () => pg.thaw());
      expect(tally.created.length).toBeGreaterThanOrEqual(16);
      // The patient instance recovers too, once its stalled queries have their answers.
      let tries = 0;
      while ((await fetch(`${patient.url}/readyz`)).status !== 200 && tries < 60) tries += 1;
      expect(tries).toBeLessThan(60);
    } finally {
      await patient.close();
    }
  }, 300_000);

  test("knex's log lines are JSON through pino, with no addresses or passwords; nothing went to the console", () => {
    const lines = server.logs.join('').trim().split('\n');
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed.filter((l) => l.source === 'knex').length).toBeGreaterThan(0);
    const text = server.logs.join('');
    expect(text).not.toContain('@example.no');
    expect(text).not.toContain('Fjord7Lights');
    expect(consoleCalls).toEqual([]);
  });
});
