/**
 * WORKERS: the BUILT server (`node dist/src/main.js`) as a cluster. On PostgreSQL with WORKERS=2 the
 * primary starts one worker, then the other; connections are answered by both (each worker's log lines
 * carry its number; new connections go round robin); a token is issued; SIGTERM drains every worker and
 * every process exits, the primary with 0. On SQLite WORKERS=2 runs one process and says so. Also the
 * pure decisions: which role a process takes, how many crashes are answered with a restart, and the
 * NODE_OPTIONS a worker gets (the recommended node flags, an operator's own setting winning).
 * Waits are on log lines and process events, never on sleeps.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { appRoot } from '../../src/app-root.js';
import { processRole, restartAllowed } from '../../src/cluster.js';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { missingNodeFlags, RECOMMENDED_NODE_FLAGS, withNodeFlags } from '../../src/config/operations.js';
import { postgresUrl } from '../support/databases.js';
import { CONFIDENTIAL_SECRET, freePort, testClients, writeClientsFile } from '../support/service.js';

const root = appRoot();
const main = path.join(root, 'dist/src/main.js');

type LogLine = { msg?: string; worker?: number; pid?: number; [k: string]: unknown };

/** The server's JSON log lines as they come, and its exit. */
class ServerProcess {
  readonly lines: LogLine[] = [];
  readonly exited: Promise<number | null>;
  stderr = '';
  private waiters: Array<{ test: (l: LogLine) => boolean; resolve: (l: LogLine | undefined) => void }> = [];
  private buffered = '';
  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => {
      this.buffered += d.toString('utf8');
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const raw = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        if (!raw.startsWith('{')) continue;
        const line = JSON.parse(raw) as LogLine;
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => (w.test(line) ? (w.resolve(line), false) : true));
      }
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString('utf8')));
    this.exited = new Promise((resolve) =>
      child.on('close', (code) => {
        for (const w of this.waiters) w.resolve(undefined);
        resolve(code);
      }),
    );
  }
  /** The first line (seen or future) that passes `test`; undefined if the process ends first. */
  waitFor(test: (l: LogLine) => boolean): Promise<LogLine | undefined> {
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }
}

function start(env: Record<string, string>): ServerProcess {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'development', HOST: '127.0.0.1', LOG_LEVEL: 'info', SHUTDOWN_DRAIN_SECONDS: '0', ...env };
  // The primary's defaults for its workers are under test.
  delete childEnv.MALLOC_MMAP_THRESHOLD_;
  delete childEnv.GLIBC_TUNABLES;
  if (!env.DATABASE_URL) delete childEnv.DATABASE_URL;
  if (!env.NODE_OPTIONS) delete childEnv.NODE_OPTIONS; // jest's own is not the operator's
  return new ServerProcess(spawn(process.execPath, [main], { cwd: root, env: childEnv }));
}

/** Is a process gone? (signal 0 only asks.) */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

beforeAll(() => {
  if (!fs.existsSync(main)) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
});

describe('which role a process takes', () => {
  test('WORKERS: every core in production, 1 in development, a whole number from 1 when set', () => {
    const production = {
      NODE_ENV: 'production',
      ISSUER: 'https://id.example.test',
      TRUSTED_PROXIES: '10.0.0.0/8',
      DATABASE_URL: 'postgres://nordlys@db.example.test/nordlys',
      COOKIE_KEYS: 'a'.repeat(32),
      DPOP_NONCE_SECRET: 'ab'.repeat(32),
      PAIRWISE_SALT: 'c'.repeat(32),
      CODE_HMAC_SECRET: 'd'.repeat(32),
      KEY_ENCRYPTION_KEY: 'ef'.repeat(32),
      SMTP_URL: 'smtp://mail.example.test:25',
    };
    expect(loadConfig(production).workers).toBe(os.availableParallelism());
    expect(loadConfig({}).workers).toBe(1);
    expect(loadConfig({ WORKERS: '3' }).workers).toBe(3);
    for (const bad of ['0', '1.5', 'many', '257']) {
      expect(() => loadConfig({ WORKERS: bad })).toThrow(ConfigError);
      try {
        loadConfig({ WORKERS: bad });
      } catch (err) {
        expect((err as ConfigError).problems).toEqual([expect.stringMatching(/^WORKERS: /)]);
      }
    }
  });

  test('WORKERS=1 serves alone; more on PostgreSQL make a primary; SQLite stays alone and remembers what was asked', () => {
    expect(processRole({ workers: 1, postgres: true })).toEqual({ kind: 'single' });
    expect(processRole({ workers: 3, postgres: true })).toEqual({ kind: 'primary', workers: 3 });
    expect(processRole({ workers: 2, postgres: false })).toEqual({ kind: 'single', ignoredWorkers: 2 });
  });

  test('crashes are answered with a restart up to the limit within the window; older ones are forgotten', () => {
    const history: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      expect(restartAllowed(history, 1000 + i, 5, 60_000)).toBe(true);
      history.push(1000 + i);
    }
    expect(restartAllowed(history, 2000, 5, 60_000)).toBe(false);
    expect(restartAllowed(history, 1000 + 60_000, 5, 60_000)).toBe(true);
    expect(history).toEqual([1001, 1002, 1003, 1004]);
  });
});

describe("a worker's node flags", () => {
  const [semi] = RECOMMENDED_NODE_FLAGS.filter((f) => f.startsWith('--max-semi-space-size='));

  test('the recommended flags come first; an operator who names a flag keeps it alone, in either spelling', () => {
    expect(RECOMMENDED_NODE_FLAGS.length).toBeGreaterThan(0);
    expect(withNodeFlags(undefined)).toBe(RECOMMENDED_NODE_FLAGS.join(' '));
    expect(withNodeFlags('  --enable-source-maps ')).toBe(`${RECOMMENDED_NODE_FLAGS.join(' ')} --enable-source-maps`);
    for (const own of ['--max-semi-space-size=2', '--max_semi_space_size=2', '--max-semi-space-size 2']) {
      expect(withNodeFlags(own).split(' ')).not.toContain(semi);
      expect(withNodeFlags(own).endsWith(own)).toBe(true);
      expect(missingNodeFlags(own, [])).not.toContain(semi);
    }
    // A boolean flag turned off by the operator stays off: ours is left out, not put ahead of theirs.
    const off = '--no-experimental-async-context-frame';
    expect(RECOMMENDED_NODE_FLAGS).toContain('--experimental-async-context-frame');
    expect(withNodeFlags(off).split(' ')).not.toContain('--experimental-async-context-frame');
    expect(withNodeFlags(off).endsWith(off)).toBe(true);
    expect(missingNodeFlags(off, [])).not.toContain('--experimental-async-context-frame');
    // Idempotent: a primary started with them passes the same string on.
    expect(withNodeFlags(withNodeFlags('--enable-source-maps'))).toBe(withNodeFlags('--enable-source-maps'));
    expect(missingNodeFlags(undefined, [])).toEqual([...RECOMMENDED_NODE_FLAGS]);
    expect(missingNodeFlags(undefined, [...RECOMMENDED_NODE_FLAGS])).toEqual([]);
    expect(missingNodeFlags(withNodeFlags(undefined), [])).toEqual([]);
  });
});

/** A process's environment and command line, from /proc. */
function procEnv(pid: number): Record<string, string> {
  const entries = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return Object.fromEntries(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}
const procArgs = (pid: number): string[] => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

const onPostgres = postgresUrl ? describe : describe.skip;

onPostgres('WORKERS=2 on PostgreSQL', () => {
  const schema = `t_${crypto.randomBytes(6).toString('hex')}`;
  let dataDir = '';
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nordlys-workers-'));
    const admin = knexFactory({ client: 'pg', connection: postgresUrl! });
    await admin.raw(`create schema "${schema}"`);
    await admin.destroy();
  });
  afterAll(async () => {
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
    await server?.exited;
    const admin = knexFactory({ client: 'pg', connection: postgresUrl! });
    await admin.raw(`drop schema if exists "${schema}" cascade`);
    await admin.destroy();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('both workers answer, a token is issued, a killed worker is replaced, SIGTERM ends every process and the primary exits 0', async () => {
    const port = await freePort();
    const url = new URL(postgresUrl!);
    url.searchParams.set('options', `-c search_path=${schema}`);
    server = start({ WORKERS: '2', PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, DATA_DIR: dataDir, CLIENTS_FILE: writeClientsFile(testClients), DATABASE_URL: url.toString() });
    const all = await server.waitFor((l) => l.msg === 'every worker is listening');
    expect(all).toBeDefined();
    const workerPids = server.lines.filter((l) => l.msg === 'worker listening').map((l) => l.pid!);
    expect(new Set(workerPids).size).toBe(2);
    // The one-time start-up work was done once, by the first worker.
    expect(server.lines.filter((l) => l.msg === 'signing keys generated').map((l) => l.worker)).toEqual([1]);
    expect(server.lines.filter((l) => l.msg === 'Nordlys ID is running')).toHaveLength(1);

    const origin = `http://127.0.0.1:${port}`;
    // A new connection for each request: the cluster hands connections to the workers in turn.
    for (let i = 0; i < 6; i += 1) {
      const ready = await fetch(`${origin}/readyz`, { headers: { connection: 'close', 'x-request-id': `ready-${i}` } });
      expect(ready.status).toBe(200);
    }
    const token = await fetch(`${origin}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`machine:${CONFIDENTIAL_SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded', connection: 'close' },
      body: 'grant_type=client_credentials',
    });
    expect(token.status).toBe(200);
    expect(((await token.json()) as { access_token?: string }).access_token).toEqual(expect.any(String));
    // Every answer's access line (each worker writes its lines in batches of its own, src/logger.ts).
    for (let i = 0; i < 6; i += 1) expect(await server.waitFor((l) => l.msg === 'request' && l.reqId === `ready-${i}`)).toBeDefined();
    const answeredBy = new Set(server.lines.filter((l) => l.msg === 'request' && String(l.reqId).startsWith('ready-')).map((l) => l.worker));
    expect(answeredBy).toEqual(new Set([1, 2]));

    // A worker that dies is replaced by a new one (number 3), and the service keeps answering.
    process.kill(workerPids[1]!, 'SIGKILL');
    const replaced = await server.waitFor((l) => l.msg === 'worker listening' && l.worker === 3);
    expect(replaced).toBeDefined();
    expect(server.lines.find((l) => l.msg === 'a worker died: starting another')).toMatchObject({ worker: 2, signal: 'SIGKILL' });
    expect((await fetch(`${origin}/healthz`, { headers: { connection: 'close' } })).status).toBe(200);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.lines.filter((l) => l.msg === 'database pool closed').map((l) => l.worker).sort()).toEqual([1, 3]);
    expect(server.lines.filter((l) => l.msg === 'worker stopped').map((l) => l.code)).toEqual([0, 0]);
    for (const pid of [...workerPids, replaced!.pid!]) expect(gone(pid)).toBe(true);
    expect(server.stderr).toBe('');
  });
});

onPostgres('WORKERS=2 on PostgreSQL: one scrape for the whole cluster', () => {
  const schema = `t_${crypto.randomBytes(6).toString('hex')}`;
  const token = 'm'.repeat(40);
  let dataDir = '';
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nordlys-workers-metrics-'));
    const admin = knexFactory({ client: 'pg', connection: postgresUrl! });
    await admin.raw(`create schema "${schema}"`);
    await admin.destroy();
  });
  afterAll(async () => {
    for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.exited));
    const admin = knexFactory({ client: 'pg', connection: postgresUrl! });
    await admin.raw(`drop schema if exists "${schema}" cascade`);
    await admin.destroy();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** A 2-worker cluster; /readyz asked `readyz` times on new connections; resolves when both workers answered. */
  async function cluster(env: Record<string, string>, readyz: number) {
    const port = await freePort();
    const url = new URL(postgresUrl!);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const server = start({ WORKERS: '2', PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, DATA_DIR: dataDir, CLIENTS_FILE: writeClientsFile(testClients), DATABASE_URL: url.toString(), ...env });
    servers.push(server);
    expect(await server.waitFor((l) => l.msg === 'every worker is listening')).toBeDefined();
    const origin = `http://127.0.0.1:${port}`;
    for (let i = 0; i < readyz; i += 1) expect((await fetch(`${origin}/readyz`, { headers: { connection: 'close', 'x-request-id': `m-${i}` } })).status).toBe(200);
    // Every answer's access line: each worker writes its lines in batches of its own (src/logger.ts), so
    // the last request's line can arrive before an earlier one's from the other worker.
    for (let i = 0; i < readyz; i += 1) expect(await server.waitFor((l) => l.msg === 'request' && l.reqId === `m-${i}`)).toBeDefined();
    const answeredBy = new Set(server.lines.filter((l) => l.msg === 'request' && String(l.reqId).startsWith('m-')).map((l) => l.worker));
    expect(answeredBy).toEqual(new Set([1, 2]));
    return { server, origin };
  }
  const readyzCount = (body: string) => {
    const line = body.split('\n').find((l) => l.startsWith('nordlys_http_request_duration_seconds_count{') && l.includes('route="/readyz"'));
    return Number(line?.split(' ').pop());
  };
  const stop = async (server: ServerProcess) => {
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.stderr).toBe('');
  };

  test('METRICS_TOKEN on the main port: the worker that is asked answers with both workers\' counters', async () => {
    const { server, origin } = await cluster({ METRICS_TOKEN: token }, 6);
    // The primary gave each worker the malloc settings that keep argon2id's buffers from staying resident and cheap to take again.
    // And the V8 heap flags, in NODE_OPTIONS (read when the worker's heap is created); its command line overrides none.
    for (const pid of server.lines.filter((l) => l.msg === 'worker listening').map((l) => l.pid!)) {
      const env = procEnv(pid);
      expect(env.MALLOC_MMAP_THRESHOLD_).toBe('131072');
      expect(env.GLIBC_TUNABLES).toBe('glibc.malloc.hugetlb=1');
      expect(env.NODE_OPTIONS).toBe(RECOMMENDED_NODE_FLAGS.join(' '));
      expect(missingNodeFlags(env.NODE_OPTIONS, [])).toEqual([]);
      expect(procArgs(pid).filter((a) => a.startsWith('--'))).toEqual([]);
    }
    expect(server.lines.some((l) => String(l.msg).startsWith('the recommended node flags are not set'))).toBe(false);
    // Twice, on new connections: whichever worker is asked, the answer is the cluster's.
    for (let i = 0; i < 2; i += 1) {
      const scrape = await fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${token}`, connection: 'close' } });
      expect(scrape.status).toBe(200);
      expect(readyzCount(await scrape.text())).toBe(6);
    }
    expect((await fetch(`${origin}/metrics`, { headers: { connection: 'close' } })).status).toBe(401);
    await stop(server);
  });

  test('METRICS_PORT: the primary listens on it and answers for every worker; the main port has no /metrics', async () => {
    const metricsPort = await freePort();
    // The operator's own NODE_OPTIONS: its semi-space setting wins over ours in every worker.
    const own = '--max-semi-space-size=2 --stack-trace-limit=20';
    const { server, origin } = await cluster({ METRICS_PORT: String(metricsPort), NODE_OPTIONS: own }, 4);
    for (const pid of server.lines.filter((l) => l.msg === 'worker listening').map((l) => l.pid!)) {
      const nodeOptions = procEnv(pid).NODE_OPTIONS!;
      expect(nodeOptions).toBe(withNodeFlags(own));
      expect(nodeOptions.endsWith(own)).toBe(true);
      expect(nodeOptions).not.toMatch(/--max-semi-space-size=(?!2 )/);
    }
    expect(server.lines.find((l) => l.msg === 'cluster metrics listening')?.worker).toBeUndefined();
    const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { headers: { connection: 'close' } });
    expect(scrape.status).toBe(200);
    expect(readyzCount(await scrape.text())).toBe(4);
    expect((await fetch(`${origin}/metrics`, { headers: { connection: 'close' } })).status).toBe(404);
    await stop(server);
  });
});

describe('WORKERS=2 on SQLite', () => {
  let dataDir = '';
  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nordlys-workers-sqlite-'));
  });
  afterAll(() => {
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('runs one process and says so', async () => {
    const port = await freePort();
    const server = start({ WORKERS: '2', PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, DATA_DIR: dataDir, CLIENTS_FILE: writeClientsFile(testClients) });
    try {
      const running = await server.waitFor((l) => l.msg === 'Nordlys ID is running');
      expect(running).toBeDefined();
      expect(server.lines.find((l) => String(l.msg).startsWith('SQLite serves one process'))).toMatchObject({ workers: 1, requested: 2 });
      expect(running!.worker).toBeUndefined();
      expect(server.lines.some((l) => l.msg === 'starting the workers: one first, then the rest')).toBe(false);
      // Started without the malloc settings (only the start command can give them), it names both.
      expect(await server.waitFor((l) => String(l.msg).startsWith('MALLOC_MMAP_THRESHOLD_ is not set'))).toMatchObject({ recommended: 'MALLOC_MMAP_THRESHOLD_=131072' });
      expect(await server.waitFor((l) => String(l.msg).startsWith('GLIBC_TUNABLES does not set glibc.malloc.hugetlb'))).toMatchObject({ recommended: 'GLIBC_TUNABLES=glibc.malloc.hugetlb=1' });
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await server.exited).toBe(0);
  });
});
