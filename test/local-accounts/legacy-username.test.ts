/**
 * Login with a legacy six-character username (Migrationsverket: accounts before 4 December 2018), on
 * each dialect: the username (any case) and the e-mail address log in to the same account with the
 * same password; failures by either name count against that one account; the operator CLI sets it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../support/manual-clock.js';
import { CliError, createLocalAccount } from '../../src/cli/commands.js';
import { setLegacyUsername } from '../../src/cli/local-accounts.js';
import { appRoot } from '../../src/app-root.js';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { alertText, beginLogin } from '../support/local-accounts.js';

describe.each(dialects)('legacy usernames on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    server = await startService({ db, clock, env: { LOGIN_FREE_FAILURES: '3' } });
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  async function logIn(name: string, password: string) {
    const login = await beginLogin(server);
    const page = await login.browser.submit(login.page, /\/login$/, { email: name, password });
    return { page, sub: page.status === 0 ? (await login.redeem(page)).claims()!.sub : undefined };
  }

  test('the username and the e-mail address log in to one account with one password', async () => {
    const account = await createLocalAccount(db, clock, { email: 'sven@example.se', name: 'Sven', password: 'Sven-Pass-1', legacyUsername: 'AB12CD' });
    const login = await beginLogin(server);
    expect(login.page.html).toContain('E-mail address or username');
    expect((await logIn('ab12cd', 'Sven-Pass-1')).sub).toBe(account.id);
    expect((await logIn('AB12CD', 'Sven-Pass-1')).sub).toBe(account.id);
    expect((await logIn('sven@example.se', 'Sven-Pass-1')).sub).toBe(account.id);
    const wrong = await logIn('AB12CD', 'nope');
    expect(wrong.page.status).toBe(401);
    expect(alertText(wrong.page)).toBe('The e-mail address, username or password is wrong.');
    expect((await logIn('ZZ99ZZ', 'Sven-Pass-1')).page.status).toBe(401);
  });

  test('failures by username and by address count against the same account', async () => {
    await createLocalAccount(db, clock, { email: 'eva@example.se', name: 'Eva', password: 'Eva-Pass-1', legacyUsername: 'EVA001' });
    await db.knex('rate_limits').del();
    await logIn('eva001', 'wrong');
    await logIn('eva@example.se', 'wrong');
    await logIn('EVA001', 'wrong');
    await logIn('eva@example.se', 'wrong');
    expect((await logIn('eva@example.se', 'Eva-Pass-1')).page.status).toBe(429);
    expect((await logIn('eva001', 'Eva-Pass-1')).page.status).toBe(429);
  });

  test('the CLI sets a username on an existing account, refuses a malformed or taken one', async () => {
    const account = await createLocalAccount(db, clock, { email: 'olle@example.se', name: 'Olle', password: 'Olle-Pass-1' });
    await setLegacyUsername(db, clock, 'Olle@Example.se', 'ol1e99');
    expect((await logIn('OL1E99', 'Olle-Pass-1')).sub).toBe(account.id);
    await expect(setLegacyUsername(db, clock, 'olle@example.se', 'toolong1')).rejects.toThrow(CliError);
    await expect(setLegacyUsername(db, clock, 'olle@example.se', 'ab12cd')).rejects.toThrow(/belongs to another account/);
    await expect(setLegacyUsername(db, clock, 'ghost@example.se', 'GH0ST1')).rejects.toThrow(/no active local account/);
    await expect(createLocalAccount(db, clock, { email: 'x@example.se', name: 'X', password: 'X-Pass-123', legacyUsername: 'AB12CD' })).rejects.toThrow(
      /belongs to another account/,
    );
  });
});

describe('the operator CLI for local accounts (built, as an operator runs it)', () => {
  const cli = path.join(appRoot(), 'dist/src/cli/index.js');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nordlys-cli-local-'));
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, NODE_ENV: 'development' };
  delete env.DATABASE_URL;
  delete env.NODE_OPTIONS;
  const run = (args: string[], stdin = '') =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [cli, ...args], { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      // The CLI's audit lines ("audit": true, test/ops/audit-trail.test.ts) are not its messages.
      child.on('close', (code) => resolve({ code, stdout, stderr: stderr.split('\n').filter((l) => !l.includes('"audit":true')).join('\n') }));
      child.stdin.end(stdin);
    });

  test('accounts create --legacy-username, set-legacy-username, purge-inactive, sweep', async () => {
    const created = await run(['accounts', 'create', '--email', 'anna@example.se', '--name', 'Anna', '--legacy-username', 'an1234'], 'AnnaPass1\n');
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/created account [0-9a-f-]{36} for anna@example.se \(username AN1234\)/);
    const bad = await run(['accounts', 'create', '--email', 'b@example.se', '--name', 'B', '--legacy-username', 'x'], 'BPass1234\n');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--legacy-username must be six letters or digits');
    const set = await run(['accounts', 'create', '--email', 'per@example.se', '--name', 'Per'], 'PerPass12\n');
    expect(set.code).toBe(0);
    expect((await run(['accounts', 'set-legacy-username', '--email', 'per@example.se', '--username', 'pe5678'])).stdout).toContain('per@example.se can now log in as PE5678');
    expect((await run(['accounts', 'purge-inactive'])).stdout).toContain('deleted 0 account(s) without a login for 730 days');
    expect((await run(['sweep'])).stdout).toMatch(/expired registration\/reset flow\(s\)/);
  });
});
