/**
 * The README's way in, as a newcomer runs it: the built server starts on the embedded default (creating
 * ./data, keys and the database), logs where discovery is and which clients exist, refuses production
 * on development-only settings with one line per problem (secrets, mocks, outbox mail, no DATABASE_URL,
 * no trusted proxy, the shipped example clients), accepts an explicit SQLite file with a warning; the
 * operator CLI creates an account and a client that can then log in.
 * Runs the build output (`npm test` builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
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
  // The test run's own DATABASE_URL must not leak in; a test that wants one says so.
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.DATABASE_URL;
  delete env.NODE_OPTIONS;
  Object.assign(env, { LOG_LEVEL: 'info', HOST: '127.0.0.1' }, extra);
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
    // The CLI's audit lines ("audit": true, test/ops/audit-trail.test.ts) are not its messages.
    child.on('close', (code) => resolve({ code, stdout, stderr: stderr.split('\n').filter((l) => !l.includes('"audit":true')).join('\n') }));
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
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

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
      // The issuer's own host: a request for another one (http://127.0.0.1:…) would be refused.
      const meta = (await (await fetch(`http://localhost:${port}/.well-known/openid-configuration`)).json()) as { issuer: string };
      expect(meta.issuer).toBe(`http://localhost:${port}`);
    } finally {
      expect(await stop(child)).toBe(0);
    }
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

/** A raw GET, so the test can send the Host header a proxy would (fetch would not). */
function get(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('production start-up refuses development-only settings, one line per problem', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nordlys-prod-'));
  const exampleCopy = path.join(dir, 'our-clients.json');
  const ownClients = path.join(dir, 'clients.json');
  const sqliteFile = path.join(dir, 'store', 'id.sqlite');
  const production = {
    NODE_ENV: 'production',
    DATA_DIR: path.join(dir, 'data'),
    ISSUER: 'https://id.example.test',
    TRUSTED_PROXIES: 'loopback',
    DATABASE_URL: `sqlite://${sqliteFile}`,
    COOKIE_KEYS: 'k'.repeat(40),
    DPOP_NONCE_SECRET: 'ab'.repeat(32),
    PAIRWISE_SALT: 's'.repeat(40),
    CODE_HMAC_SECRET: 'c'.repeat(40),
    KEY_ENCRYPTION_KEY: 'e'.repeat(64),
    SMTP_URL: 'smtp://127.0.0.1:1',
    CLIENTS_FILE: ownClients,
  };

  beforeAll(() => {
    if (!fs.existsSync(main)) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
    // The shipped examples under another name, and an operator's own client.
    fs.copyFileSync(path.join(root, 'config/clients.json'), exampleCopy);
    fs.writeFileSync(ownClients, JSON.stringify({ clients: [{ client_id: 'my-page', client_secret: 'm'.repeat(40), redirect_uris: ['https://rp.example.test/cb'] }] }));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const linesOf = (stderr: string) => stderr.trimEnd().split('\n');

  test('nothing set, mocks asked for: exit 1 and a line naming each setting and what to set', async () => {
    const result = await run([main], baseEnv({ NODE_ENV: 'production', DATA_DIR: path.join(dir, 'data'), MOCKS_ENABLED: 'true' }));
    expect(result.code).toBe(1);
    const lines = linesOf(result.stderr);
    expect(lines.slice(0, 2)).toEqual(['Nordlys ID cannot start.', 'NODE_ENV=production refuses to start:']);
    expect(lines.slice(2)).toEqual([
      expect.stringMatching(/^ - COOKIE_KEYS is not set: .*; set COOKIE_KEYS to /),
      expect.stringMatching(/^ - DPOP_NONCE_SECRET is not set: .*; set DPOP_NONCE_SECRET to /),
      expect.stringMatching(/^ - PAIRWISE_SALT is not set: .*; set PAIRWISE_SALT to /),
      expect.stringMatching(/^ - CODE_HMAC_SECRET is not set: .*; set CODE_HMAC_SECRET to /),
      expect.stringMatching(/^ - KEY_ENCRYPTION_KEY is not set: .*; set KEY_ENCRYPTION_KEY to 64 hexadecimal characters/),
      expect.stringMatching(/^ - SMTP_URL is not set: production sends no mail to the development outbox or the console log; set SMTP_URL=/),
      expect.stringMatching(/^ - MOCKS_ENABLED=true: production serves no mock upstreams .*; remove MOCKS_ENABLED and set IDPORTEN_ISSUER and BANKID_BASE_URL/),
      expect.stringMatching(/^ - DATABASE_URL is not set: .*; set DATABASE_URL=postgres:\/\/… or, .*DATABASE_URL=sqlite:\/\/\/path\/to\/file\.sqlite$/),
      expect.stringMatching(/^ - ISSUER is http:\/\/localhost:3000: production needs the public https URL; set ISSUER=https:/),
    ]);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  test('an https issuer without TRUSTED_PROXIES: exit 1, that one line', async () => {
    const env = baseEnv({ ...production, TRUSTED_PROXIES: '' });
    const result = await run([main], env);
    expect(result.code).toBe(1);
    expect(linesOf(result.stderr)).toEqual([
      'Nordlys ID cannot start.',
      'NODE_ENV=production refuses to start:',
      expect.stringMatching(/^ - TRUSTED_PROXIES is not set: .*https.*; set TRUSTED_PROXIES to /),
    ]);
  });

  test('the shipped example clients, copied to any path: exit 1, one line per client', async () => {
    const result = await run([main], baseEnv({ ...production, CLIENTS_FILE: exampleCopy }));
    expect(result.code).toBe(1);
    const ids = (JSON.parse(fs.readFileSync(exampleCopy, 'utf8')) as { clients: Array<{ client_id: string }> }).clients.map((c) => c.client_id);
    expect(linesOf(result.stderr)).toEqual([
      'Nordlys ID cannot start.',
      `Invalid clients file ${exampleCopy}:`,
      ...ids.map((id, i) => expect.stringMatching(new RegExp(`^ - clients\\[${i}\\] \\(${id}\\) is an example client, .*production refuses it; remove it from CLIENTS_FILE`))),
    ]);
  });

  test('DATABASE_URL=sqlite:///file is taken at its word: it starts, warns that SQLite serves one instance, serves https via the proxy', async () => {
    const port = await freePort();
    const { child, log } = await startServer(baseEnv({ ...production, PORT: String(port) }));
    try {
      expect(fs.existsSync(sqliteFile)).toBe(true);
      // Logged before "Nordlys ID is running", so it is in the output already.
      const warning = log()
        .split('\n')
        .filter((l) => l.includes('SQLite serves one instance only'))
        .map((l) => JSON.parse(l) as { level: number; msg: string });
      expect(warning).toEqual([expect.objectContaining({ level: 40, msg: `DATABASE_URL=sqlite://${sqliteFile}: SQLite serves one instance only; use PostgreSQL to run more than one` })]);
      const viaProxy = await get(port, '/.well-known/openid-configuration', { host: 'id.example.test', 'x-forwarded-proto': 'https' });
      expect(viaProxy.status).toBe(200);
      expect((JSON.parse(viaProxy.body) as { token_endpoint: string }).token_endpoint).toBe('https://id.example.test/token');
      expect((await get(port, '/.well-known/openid-configuration', { host: 'id.example.test' })).status).toBe(400);
      expect((await get(port, '/.well-known/openid-configuration', { host: 'evil.example', 'x-forwarded-proto': 'https' })).status).toBe(400);
      expect((await get(port, '/healthz', { host: `127.0.0.1:${port}` })).status).toBe(200);
    } finally {
      expect(await stop(child)).toBe(0);
    }
  });
});
