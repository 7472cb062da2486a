/**
 * The runtime image's file layout, built into a temporary folder the way the Dockerfile's runtime
 * stage builds /app (no Docker engine here): its COPY instructions are followed one by one, and its
 * `npm install --omit=dev` is reproduced from package-lock.json (every package the lock does not mark
 * `dev`, hard-linked from node_modules; nothing is fetched). Then, from that folder alone:
 * TypeScript, jest and the other dev tools are absent; `nordlys --help` and `nordlys migrate` work
 * through the PATH wrapper; `node dist/src/main.js` starts in production mode and answers /healthz,
 * and stops on SIGTERM. An instruction the test does not understand fails it, so the Dockerfile and
 * this test cannot drift apart silently. Runs the build output (`npm test` builds first).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appRoot } from '../../src/app-root.js';
import { freePort } from '../support/service.js';

const root = appRoot();
/** Paths .dockerignore leaves out of the folders the runtime stage copies. */
const CONTEXT_EXCLUDED = new Set(['config/clients.json']);

/** Hard-links a tree (the test only reads it); a package's own nested node_modules is left to the lock. */
function linkTree(src: string, dst: string, skipNodeModules: boolean): void {
  fs.mkdirSync(dst, { recursive: true });
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    const from = path.join(src, entry.name);
    const to = path.join(dst, entry.name);
    if (entry.isDirectory()) {
      if (!(skipNodeModules && entry.name === 'node_modules')) linkTree(from, to, false);
    } else if (entry.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(from), to);
    else fs.linkSync(from, to);
  }
}

/** `npm install --omit=dev` from the lock: every installed package the lock does not mark dev-only. */
function installProductionDependencies(app: string): string[] {
  const lock = JSON.parse(fs.readFileSync(path.join(app, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const production = Object.entries(lock.packages).filter(([key, meta]) => key.startsWith('node_modules/') && !meta.dev).map(([key]) => key);
  for (const key of production) {
    const from = path.join(root, key);
    if (fs.existsSync(from)) linkTree(from, path.join(app, key), true);
  }
  return production;
}

/** Follows the runtime stage's COPY and RUN instructions into `app` (for /app) and `prefix` (for /). */
function buildRuntimeLayout(app: string, prefix: string): void {
  const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8').replace(/\\\r?\n/g, ' ');
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  for (const line of runtime.split('\n').map((l) => l.trim()).filter((l) => /^(COPY|RUN) /.test(l))) {
    const words = line.split(/\s+/);
    if (words[0] === 'RUN') {
      if (/\bnpm install\b.*--omit=dev/.test(line)) installProductionDependencies(app);
      else if (/^RUN mkdir -p \/app\/data && chown node:node \/app\/data$/.test(line)) fs.mkdirSync(path.join(app, 'data'));
      else throw new Error(`the layout test does not know this instruction: ${line}`);
      continue;
    }
    const flags = words.slice(1).filter((w) => w.startsWith('--'));
    const args = words.slice(1).filter((w) => !w.startsWith('--'));
    const dest = args.pop();
    const source = args[0];
    if (!source || !dest || (args.length > 1 && dest !== './')) throw new Error(`the layout test does not know this instruction: ${line}`);
    if (flags.includes('--from=build')) {
      // The build stage compiles src/, mocks/ and migrations/ only (bench/ is not in its context).
      if (source !== '/app/dist' || dest !== './dist') throw new Error(`unexpected copy from the build stage: ${line}`);
      for (const part of ['src', 'mocks', 'migrations']) fs.cpSync(path.join(root, 'dist', part), path.join(app, 'dist', part), { recursive: true });
    } else if (dest.startsWith('/')) {
      fs.mkdirSync(path.dirname(path.join(prefix, dest)), { recursive: true });
      // The wrapper names /app; here /app is the temporary folder.
      fs.writeFileSync(path.join(prefix, dest), fs.readFileSync(path.join(root, source), 'utf8').replaceAll('/app', app), { mode: 0o755 });
    } else if (dest === './') {
      for (const file of args) fs.copyFileSync(path.join(root, file), path.join(app, file));
    } else {
      fs.cpSync(path.join(root, source), path.join(app, dest), { recursive: true, filter: (f) => !CONTEXT_EXCLUDED.has(path.relative(root, f)) });
    }
  }
}

describe('the production layout of the image, from a temporary folder', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'nordlys-image-'));
  const app = path.join(base, 'app');
  const prefix = path.join(base, 'root');
  const secret = () => crypto.randomBytes(32).toString('hex');
  let env: NodeJS.ProcessEnv;
  let server: ChildProcess | undefined;

  beforeAll(() => {
    fs.mkdirSync(app);
    buildRuntimeLayout(app, prefix);
    const clientsFile = path.join(base, 'clients.json');
    fs.writeFileSync(clientsFile, JSON.stringify({ clients: [] }));
    // The image's ENV plus what compose gives it: production, with every refusal satisfied.
    env = {
      PATH: `${path.join(prefix, 'usr/local/bin')}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      DATA_DIR: path.join(app, 'data'),
      ISSUER: 'https://localhost:8443',
      TRUSTED_PROXIES: '127.0.0.1',
      DATABASE_URL: `sqlite://${path.join(app, 'data', 'nordlys.sqlite')}`,
      SMTP_URL: 'smtp://127.0.0.1:2525',
      CLIENTS_FILE: clientsFile,
      LOG_LEVEL: 'info',
      COOKIE_KEYS: secret(),
      DPOP_NONCE_SECRET: secret(),
      PAIRWISE_SALT: secret(),
      CODE_HMAC_SECRET: secret(),
      KEY_ENCRYPTION_KEY: secret(),
    };
  });
  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGKILL');
      await exited;
    }
    fs.rmSync(base, { recursive: true, force: true });
  });

  test('holds production dependencies only, the compiled code and no TypeScript source', () => {
    // (@types/node does come along: koa-body lists type packages among its dependencies.)
    for (const tool of ['typescript', 'jest', 'ts-jest', 'eslint', 'supertest', 'smtp-server']) expect(fs.existsSync(path.join(app, 'node_modules', tool))).toBe(false);
    for (const dep of ['oidc-provider', 'knex', 'argon2', 'better-sqlite3', 'pg', 'pino']) expect(fs.existsSync(path.join(app, 'node_modules', dep, 'package.json'))).toBe(true);
    expect(fs.existsSync(path.join(app, 'dist/src/main.js'))).toBe(true);
    expect(fs.existsSync(path.join(app, 'src'))).toBe(false);
    expect(fs.existsSync(path.join(app, 'config/clients.json'))).toBe(false);
    expect(fs.existsSync(path.join(app, 'dist/bench'))).toBe(false);
  });

  test('`nordlys --help` and `nordlys migrate` run from the PATH', () => {
    const help = spawnSync('nordlys', ['--help'], { env, cwd: base, encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Nordlys ID operator commands');
    expect(help.stdout).toMatch(/\baudit\b/);
    const migrate = spawnSync('nordlys', ['migrate'], { env, cwd: base, encoding: 'utf8' });
    expect(migrate.stderr).toBe('');
    expect(migrate).toMatchObject({ status: 0, stdout: 'database is up to date\n' });
    expect(fs.existsSync(path.join(app, 'data/nordlys.sqlite'))).toBe(true);
  });

  test('`node dist/src/main.js` starts in production and answers /healthz, and stops on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['dist/src/main.js'], { cwd: app, env: { ...env, PORT: String(port) } });
    server = child;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('Nordlys ID is running')) resolve();
      });
      child.stderr!.on('data', (d) => (out += d));
      child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
    });
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    child.removeAllListeners('exit');
    const code = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await code).toBe(0);
  });
});
