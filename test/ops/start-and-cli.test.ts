/**
 * The README's way in, as a newcomer runs it: the built server starts on the embedded default (creating
 * ./data, keys and the database), logs where discovery is and which clients exist, refuses production
 * without real secrets; the operator CLI creates an account and a client that can then log in.
 * Runs the build output (`npm test` builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as oidc from 'openid-client';
import { appRoot } from '../../src/app-root.js';
import { freePort, RP } from '../support/service.js';
import { codeFlow, discover, TEST_USER } from '../support/rp.js';

const root = appRoot();
const main = path.join(root, 'dist/src/main.js');
const cli = path.join(root, 'dist/src/cli/index.js');

function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info', HOST: '127.0.0.1', ...extra };
  delete env.DATABASE_URL;
  delete env.NODE_OPTIONS;
  env.NODE_ENV = extra.NODE_ENV ?? 'development';
  return env;
}

function run(args: string[], env: NodeJS.ProcessEnv, stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** Starts the server and resolves once it logs that it runs (or rejects when it exits first). */
function startServer(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; log: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main], { cwd: root, env });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('Nordlys ID is running')) resolve({ child, log: () => out });
    });
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

const stop = (child: ChildProcess) => new Promise<number | null>((resolve) => {
  child.removeAllListeners('exit');
  child.on('exit', (code) => resolve(code));
  child.kill('SIGTERM');
});

describe('start command and operator CLI', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nordlys-start-'));
  const clientsFile = path.join(dataDir, 'clients.json');

  beforeAll(() => {
    if (!fs.existsSync(main)) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
    fs.copyFileSync(path.join(root, 'config/clients.json'), clientsFile);
  });

  test('the server starts on the embedded default and tells the operator what it runs', async () => {
    const port = await freePort();
    const { child, log } = await startServer(baseEnv({ PORT: String(port), DATA_DIR: dataDir }));
    try {
      expect(fs.existsSync(path.join(dataDir, 'nordlys.sqlite'))).toBe(true);
      const text = log();
      expect(text).toContain(`"discovery":"http://localhost:${port}/.well-known/openid-configuration"`);
      expect(text).toContain('dev-confidential');
      expect(text).toContain('dev-public');
      expect(text).toContain('running on development defaults');
      expect(text).toContain('signing keys generated');
      const meta = (await (await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`)).json()) as { issuer: string };
      expect(meta.issuer).toBe(`http://localhost:${port}`);
    } finally {
      expect(await stop(child)).toBe(0);
    }
  });

  test('production refuses to start on development defaults and names them', async () => {
    const result = await run([main], baseEnv({ NODE_ENV: 'production', DATA_DIR: dataDir }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot start');
    for (const name of ['COOKIE_KEYS', 'DPOP_NONCE_SECRET', 'PAIRWISE_SALT', 'CODE_HMAC_SECRET', 'KEY_ENCRYPTION_KEY', 'SMTP_URL', 'ISSUER']) expect(result.stderr).toContain(name);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  test('CLI: create an account and a client, list them, rotate keys; the account logs in', async () => {
    const env = baseEnv({ DATA_DIR: dataDir, CLIENTS_FILE: clientsFile });
    const created = await run([cli, 'accounts', 'create', '--email', TEST_USER.email, '--name', TEST_USER.name], env, `${TEST_USER.password}\n`);
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/created account [0-9a-f-]{36} for kari@example.no/);
    const weak = await run([cli, 'accounts', 'create', '--email', 'weak@example.no', '--name', 'Weak'], env, 'pass@word1\n');
    expect(weak.code).toBe(1);
    expect(weak.stderr).toContain('breaks the udi password rules');
    const duplicate = await run([cli, 'accounts', 'create', '--email', TEST_USER.email, '--name', 'X'], env, 'AnotherPass1\n');
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('exists');

    const added = await run([cli, 'clients', 'add', '--id', 'cli-app', '--name', 'CLI app', '--redirect-uri', RP, '--skip-consent'], env);
    expect(added.code).toBe(0);
    const secret = /client_secret \(shown once\): (\S+)/.exec(added.stdout)![1]!;
    const listed = await run([cli, 'clients', 'list'], env);
    expect(listed.stdout).toContain('cli-app');
    expect(listed.stdout).not.toContain(secret);
    const badClient = await run([cli, 'clients', 'add', '--id', 'bad', '--name', 'Bad', '--redirect-uri', 'nonsense'], env);
    expect(badClient.code).toBe(1);
    expect(badClient.stderr).toContain('redirect_uris[0]');

    const rotated = await run([cli, 'keys', 'rotate'], env);
    expect(rotated.stdout).toMatch(/new RS256 key .*published now, signs from/);
    const keys = await run([cli, 'keys', 'list'], env);
    expect(keys.stdout.match(/\tsigning\t/g)).toHaveLength(2);
    expect(keys.stdout.match(/\tpublished\t/g)).toHaveLength(2);
    const pendingKid = /^(\S+)\tES256\tpublished\t/m.exec(keys.stdout)![1]!;
    const revoked = await run([cli, 'keys', 'revoke', pendingKid], env);
    expect(revoked.stdout).toContain(`revoked ${pendingKid}`);
    expect((await run([cli, 'keys', 'list'], env)).stdout).toMatch(new RegExp(`^${pendingKid}\tES256\trevoked\t`, 'm'));
    // Development keeps its key-encryption key in the database: rewrap replaces it there too.
    const rewrapped = await run([cli, 'keys', 'rewrap'], env);
    expect(rewrapped.stdout).toMatch(/re-encrypted 4 signing key\(s\)/);
    expect(rewrapped.stdout).toContain('nothing to set');

    const port = await freePort();
    const { child } = await startServer({ ...env, PORT: String(port), ISSUER: `http://127.0.0.1:${port}` });
    try {
      const config = await discover(`http://127.0.0.1:${port}`, 'cli-app', oidc.ClientSecretBasic(secret));
      const { tokens } = await codeFlow(config, `http://127.0.0.1:${port}`, { scope: 'openid email profile' });
      expect(tokens.claims()).toMatchObject({ amr: ['pwd'] });
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub);
      expect(userinfo).toMatchObject({ email: TEST_USER.email, name: TEST_USER.name });
    } finally {
      await stop(child);
    }
  }, 180_000); // a dozen CLI processes and a server start: slow on a shared 2-core machine
});
