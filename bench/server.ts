/**
 * The benchmark's fixture: a fresh PostgreSQL schema (migrated, one local account), a temporary clients
 * file with one confidential client that is asked for consent, and the real server started as a child
 * process (`node dist/src/main.js`) on a free loopback port. The server selects the schema through the
 * connection URL (`options=-c search_path=<schema>`), since DATABASE_URL is its only database setting.
 * The server runs as production would in what matters for speed: no mock upstreams, no playground, and
 * the log level given (the production default, info, unless a benchmark asks otherwise), and the memory
 * settings every production start path sets (MALLOC_MMAP_THRESHOLD_, GLIBC_TUNABLES, the V8 heap flags). With WORKERS
 * above 1 it is a cluster: memory and CPU are read for the primary and each worker.
 * Everything is undone by `cleanup()`, which is safe to call after a partial setup.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { appRoot } from '../src/app-root.js';
import { RECOMMENDED_MMAP_THRESHOLD } from '../src/config/index.js';
import { RECOMMENDED_GLIBC_TUNABLES } from '../src/config/operations.js';
import { withNodeFlags } from '../src/config/operations.js';
import { systemClock } from '../src/clock.js';
import { createLocalAccount } from '../src/cli/commands.js';
import { openDatabase } from '../src/store/db.js';
import { migrateLatest } from '../src/store/migrate.js';

export const REDIRECT_URI = 'http://127.0.0.1:9/callback';
export const CLIENT_ID = 'bench';
export const ACCOUNT = { email: 'bench@example.no', name: 'Bench Mark', password: 'Bench-Password-42' };

export interface Fixture {
  schema: string;
  accountId: string;
  clientSecret: string;
  url: string;
  server: ChildProcess;
  /** The NODE_OPTIONS the server was started with. */
  nodeOptions: string;
  /** Peak resident memory (VmHWM) of the largest server process, in KiB; undefined once it has exited. */
  peakRssKiB(): number | undefined;
  /** Resident memory (VmRSS) now of each server process (a cluster's primary first), in KiB. */
  rssKiB(): number[];
  /** CPU seconds (user + system) the server's processes have used so far. */
  cpuSeconds(): number | undefined;
  /** The last lines the server wrote (shown when something fails). */
  output(): string;
  cleanup(): Promise<void>;
}

/** Adds `options=-c search_path=<schema>` to a postgres URL. */
export function withSearchPath(databaseUrl: string, schema: string): string {
  const sep = databaseUrl.includes('?') ? '&' : '?';
  return `${databaseUrl}${sep}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function procStatus(pid: number | undefined, field: string): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The process and its children (a cluster's workers), from /proc. */
function processTree(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  const children: number[] = [];
  try {
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      const listed = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (listed) children.push(...listed.split(/\s+/).map(Number));
    }
  } catch {
    return fs.existsSync(`/proc/${pid}`) ? [pid] : [];
  }
  return [pid, ...children];
}

export function procCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the ")" of the command name: state is field 3, utime 14 and stime 15 (in USER_HZ = 100 ticks/s).
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

export interface FixtureOptions {
  /** The database URL the server is given instead of `databaseUrl` (a statement-counting proxy). */
  serverDatabaseUrl?: string;
}

/** `env`: extra server settings (bench/client-credentials.ts turns metrics on with METRICS_TOKEN). */
export async function startFixture(databaseUrl: string, readyTimeoutMs: number, env: Record<string, string> = {}, options: FixtureOptions = {}): Promise<Fixture> {
  const schema = `bench_${crypto.randomBytes(5).toString('hex')}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nordlys-bench-'));
  const lines: string[] = [];
  let server: ChildProcess | undefined;
  let schemaCreated = false;

  const cleanup = async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGTERM');
      if ((await Promise.race([exited.then(() => true), sleep(5000).then(() => false)])) === false) {
        server.kill('SIGKILL');
        await Promise.race([exited, sleep(2000)]);
      }
    }
    if (schemaCreated) {
      const admin = knexFactory({ client: 'pg', connection: databaseUrl, pool: { min: 0, max: 1 } });
      try {
        await admin.raw(`drop schema if exists "${schema}" cascade`);
      } finally {
        await admin.destroy();
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  };

  try {
    const admin = knexFactory({ client: 'pg', connection: databaseUrl, pool: { min: 0, max: 1 } });
    try {
      await admin.raw(`create schema "${schema}"`);
      schemaCreated = true;
    } finally {
      await admin.destroy();
    }
    const db = openDatabase({ databaseUrl, schema, poolMax: 2 });
    let accountId: string;
    try {
      await migrateLatest(db);
      accountId = (await createLocalAccount(db, systemClock, ACCOUNT)).id;
    } finally {
      await db.close();
    }

    const clientSecret = crypto.randomBytes(32).toString('base64url');
    const clientsFile = path.join(tmp, 'clients.json');
    const client = {
      client_id: CLIENT_ID,
      client_secret: clientSecret,
      client_name: 'Benchmark RP',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'client_credentials', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid email profile',
    };
    fs.writeFileSync(clientsFile, JSON.stringify({ clients: [client] }));

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const root = appRoot();
    const nodeOptions = env.NODE_OPTIONS ?? withNodeFlags(process.env.NODE_OPTIONS);
    server = spawn(process.execPath, [path.join(root, 'dist', 'src', 'main.js')], {
      cwd: root,
      // Its own process group: Ctrl-C reaches only the benchmark, which then stops the server itself.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        NODE_ENV: 'development',
        HOST: '127.0.0.1',
        PORT: String(port),
        ISSUER: url,
        DATABASE_URL: withSearchPath(options.serverDatabaseUrl ?? databaseUrl, schema),
        CLIENTS_FILE: clientsFile,
        DATA_DIR: path.join(tmp, 'data'),
        LOG_LEVEL: 'warn',
        MOCKS_ENABLED: 'false',
        PLAYGROUND_ENABLED: 'false',
        WORKERS: '1',
        // As every production start sets it (Dockerfile, npm start, the cluster's workers): README "Memory".
        MALLOC_MMAP_THRESHOLD_: RECOMMENDED_MMAP_THRESHOLD,
        GLIBC_TUNABLES: RECOMMENDED_GLIBC_TUNABLES,
        // Likewise the recommended node flags, ahead of the benchmark's own NODE_OPTIONS (whose settings win).
        NODE_OPTIONS: nodeOptions,
        SHUTDOWN_DRAIN_SECONDS: '0', // nobody balances load here: stop at once
        // The load generator is one address starting logins far faster than people: lift the /auth limits.
        AUTH_NEW_INTERACTIONS_PER_IP_MINUTE: '1000000',
        AUTH_NEW_INTERACTIONS_PER_CLIENT_MINUTE: '10000000',
        ...env,
      },
    });
    const child = server;
    process.once('exit', () => child.kill('SIGKILL')); // last resort if the benchmark exits without cleanup
    const keep = (chunk: Buffer) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      if (lines.length > 50) lines.splice(0, lines.length - 50);
    };
    server.stdout!.on('data', keep);
    server.stderr!.on('data', keep);

    const started = Date.now();
    for (let attempt = 0; attempt < 1000 && Date.now() - started < readyTimeoutMs; attempt += 1) {
      if (server.exitCode !== null || server.signalCode !== null) break;
      const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) {
        return {
          schema,
          accountId,
          clientSecret,
          url,
          server: child,
          peakRssKiB: () => {
            const peaks = processTree(child.pid).map((pid) => procStatus(pid, 'VmHWM')).filter((k): k is number => k !== undefined);
            return peaks.length ? Math.max(...peaks) : undefined;
          },
          rssKiB: () => processTree(child.pid).map((pid) => procStatus(pid, 'VmRSS')).filter((k): k is number => k !== undefined),
          cpuSeconds: () => {
            const used = processTree(child.pid).map(procCpuSeconds).filter((s): s is number => s !== undefined);
            return used.length ? used.reduce((a, b) => a + b, 0) : undefined;
          },
          nodeOptions,
          output: () => lines.join('\n'),
          cleanup,
        };
      }
      await sleep(100);
    }
    throw new Error(`the server did not become ready within ${readyTimeoutMs} ms (exit code ${server.exitCode ?? 'none'}):\n${lines.join('\n')}`);
  } catch (err) {
    await cleanup().catch(() => undefined);
    throw err;
  }
}
