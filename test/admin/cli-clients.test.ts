/**
 * The operator CLI manages clients in the database (not the file), through the admin service functions:
 * add (secret shown once), list, update from a JSON file, rotate-secret, remove; bad input names the field;
 * every action is audited as the `cli` actor. Runs the build output (`npm test` builds first) on the
 * embedded SQLite: the CLI binary would open PostgreSQL's public schema, which tests must not touch; the
 * same service functions run on both dialects in admin-api.test.ts.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appRoot } from '../../src/app-root.js';
import { openDatabase } from '../../src/store/db.js';

const root = appRoot();
const cli = path.join(root, 'dist/src/cli/index.js');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nordlys-cli-clients-'));

function run(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'development', DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  delete env.NODE_OPTIONS;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'clients', ...args], { cwd: root, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

test('clients add, list, update, rotate-secret and remove work on the database and are audited as cli', async () => {
  if (!fs.existsSync(cli)) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  const added = await run(['add', '--id', 'ops-admin', '--name', 'Operations', '--grant-type', 'client_credentials', '--scope', 'nordlys:admin']);
  expect(added.stderr).toBe('');
  const secret = /client_secret \(shown once\): (\S+)/.exec(added.stdout)![1]!;
  const listed = await run(['list']);
  expect(listed.stdout).toMatch(/^ops-admin\tclient_secret_basic\tOperations\t\tnordlys:admin$/m);
  expect(listed.stdout).not.toContain(secret);

  const bad = await run(['update', 'ops-admin', '--metadata-file', '-'], JSON.stringify({ client_name: 'Ops', grant_types: ['client_credentials'], scope: 'nordlys:admin', jwks_uri: 'not a url' }));
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('jwks_uri');
  const updated = await run(['update', 'ops-admin', '--metadata-file', '-'], JSON.stringify({ client_name: 'Ops team', grant_types: ['client_credentials'], scope: 'nordlys:admin' }));
  expect(updated.stdout).toContain('updated client ops-admin');
  expect((await run(['show', 'ops-admin'])).stdout).toContain('"client_name": "Ops team"');

  const rotated = await run(['rotate-secret', 'ops-admin']);
  const next = /client_secret \(shown once\): (\S+)/.exec(rotated.stdout)![1]!;
  expect(next).not.toBe(secret);
  expect(rotated.stdout).toMatch(/the previous secret works until \d{4}-/);

  expect((await run(['remove', 'ops-admin'])).stdout).toContain('removed client ops-admin');
  const missing = await run(['remove', 'ops-admin']);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain('no client ops-admin');

  const db = openDatabase({ sqliteFile: path.join(dataDir, 'nordlys.sqlite') });
  try {
    const events = (await db.knex('audit_events').where({ actor: 'cli' }).orderBy('id').pluck('event')) as string[];
    expect(events).toEqual(['admin.client.created', 'admin.client.listed', 'admin.client.updated', 'admin.client.read', 'admin.client.secret_rotated', 'admin.client.deleted']);
    expect(await db.knex('clients').count({ n: '*' }).first()).toMatchObject({ n: 0 });
  } finally {
    await db.close();
  }
}, 120_000);
