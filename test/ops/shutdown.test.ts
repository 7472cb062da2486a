/**
 * Deploys drop nothing: the BUILT server (`node dist/src/main.js`) as a child process gets SIGTERM while
 * 20 password logins are in flight. Each login is held in flight deterministically: its headers and half
 * its body are on the wire (the server logged it received the request) and the rest of the body is sent
 * only after the server stopped accepting connections. Asserted: /readyz is 503 during the drain while a
 * new request is still served; a new connection is refused after the drain; all 20 logins get their
 * normal 303; the process exits 0; the log shows draining → stopped accepting → logins answered → server
 * closed → pool closed. Also: the grace period ends a request that never completes, and `npm start`
 * passes SIGTERM to the server. Waits are on log lines and socket events, never on sleeps.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { appRoot } from '../../src/app-root.js';
import { openDatabase, type Database } from '../../src/store/db.js';
import { migrateLatest } from '../../src/store/migrate.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { systemClock } from '../../src/clock.js';
import { dialects, postgresUrl } from '../support/databases.js';
import { freePort } from '../support/service.js';
import { TEST_USER } from '../support/rp.js';

const root = appRoot();
const main = path.join(root, 'dist/src/main.js');
const LOGINS = 20;

interface LogLine {
  msg?: string;
  method?: string;
  path?: string;
  status?: number;
  [k: string]: unknown;
}

/** A server child process whose JSON log lines can be awaited. */
class ServerProcess {
  readonly lines: LogLine[] = [];
  readonly exited: Promise<number | null>;
  private waiters: Array<{ test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
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
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    // 'close', not 'exit': only then has every line the child wrote been read.
    this.exited = new Promise((resolve) =>
      child.on('close', (code) => {
        for (const w of this.waiters) w.resolve({ msg: `exited with ${code}: ${stderr}` });
        resolve(code);
      }),
    );
  }
  /** Resolves with the first log line (already seen or future) that passes `test`. */
  waitFor(test: (l: LogLine) => boolean): Promise<LogLine> {
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }
  count(test: (l: LogLine) => boolean): number {
    return this.lines.filter(test).length;
  }
  indexOf(test: (l: LogLine) => boolean): number {
    return this.lines.findIndex(test);
  }
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'development', HOST: '127.0.0.1', LOG_LEVEL: 'debug', ...extra };
  if (!extra.DATABASE_URL) delete env.DATABASE_URL;
  delete env.NODE_OPTIONS;
  return env;
}

async function startServer(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const server = new ServerProcess(spawn(command, args, { cwd: root, env }));
  const running = await server.waitFor((l) => l.msg === 'Nordlys ID is running' || String(l.msg).startsWith('exited with'));
  if (running.msg !== 'Nordlys ID is running') throw new Error(`server did not start: ${running.msg}`);
  return server;
}

/** One login prepared up to the password form: its POST target, cookies and form body. */
interface PreparedLogin {
  path: string;
  cookie: string;
  body: string;
}

const cookiesOf = (res: Response) => res.headers.getSetCookie().map((c) => c.split(';')[0]!);

/** Twenty people log in during the deploy: one account each (an account's parallel attempts are throttled). */
const userOf = (i: number) => ({ ...TEST_USER, email: `user${i}@example.no`, name: `User ${i}` });

async function prepareLogin(origin: string, user: { email: string; password: string }): Promise<PreparedLogin> {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  const auth = new URL('/auth', origin);
  auth.search = new URLSearchParams({
    client_id: 'dev-public',
    response_type: 'code',
    scope: 'openid',
    redirect_uri: 'http://localhost:8080/callback',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: crypto.randomBytes(8).toString('hex'),
  }).toString();
  const started = await fetch(auth, { redirect: 'manual' });
  const location = started.headers.get('location');
  if (started.status !== 303 || !location) throw new Error(`authorization did not start an interaction: ${started.status}`);
  const cookie = cookiesOf(started).join('; ');
  const page = await fetch(new URL(location, origin), { headers: { cookie, accept: 'text/html' } });
  const html = await page.text();
  const form = /<form[^>]*action="([^"]*\/login)"[^>]*>([\s\S]*?)<\/form>/.exec(html);
  if (!form) throw new Error(`no login form (${page.status})`);
  const fields = new URLSearchParams();
  for (const input of form[2]!.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = /name="([^"]+)"/.exec(input[0])?.[1];
    if (name) fields.set(name, /value="([^"]*)"/.exec(input[0])?.[1] ?? '');
  }
  fields.set('email', user.email);
  fields.set('password', user.password);
  return { path: new URL(form[1]!, origin).pathname, cookie, body: fields.toString() };
}

/** A raw HTTP/1.1 request whose body is sent in two parts; `response` resolves with the status line. */
function heldRequest(port: number, method: string, target: string, headers: Record<string, string>, body: string) {
  const socket = net.connect(port, '127.0.0.1');
  const split = Math.floor(body.length / 2);
  const head = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: keep-alive', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join('\r\n');
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  // Resolves when the server closes the connection: with the status it answered, or 0 if it cut it.
  const response = new Promise<{ status: number; headers: string }>((resolve) => {
    socket.on('error', () => undefined); // a reset connection still ends in 'close'
    socket.once('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0);
      resolve({ status, headers: received.split('\r\n\r\n')[0] ?? '' });
    });
  });
  const connected = new Promise<void>((resolve) => socket.once('connect', () => socket.write(`${head}\r\n\r\n${body.slice(0, split)}`, () => resolve())));
  return { connected, response, finish: () => socket.write(body.slice(split)) };
}

/** The database the child uses, opened from the test to create the account (migrated first). */
async function openShared(dialect: 'sqlite' | 'postgres', dataDir: string): Promise<{ db: Database; env: Record<string, string>; drop(): Promise<void> }> {
  if (dialect === 'sqlite') {
    const db = openDatabase({ sqliteFile: path.join(dataDir, 'nordlys.sqlite') });
    return { db, env: {}, drop: async () => undefined };
  }
  const schema = `t_${crypto.randomBytes(6).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: postgresUrl! });
  await admin.raw(`create schema "${schema}"`);
  await admin.destroy();
  const db = openDatabase({ databaseUrl: postgresUrl, schema, poolMax: 2 });
  const url = new URL(postgresUrl!);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    db,
    env: { DATABASE_URL: url.toString() },
    drop: async () => {
      const cleanup = knexFactory({ client: 'pg', connection: postgresUrl! });
      await cleanup.raw(`drop schema "${schema}" cascade`);
      await cleanup.destroy();
    },
  };
}

beforeAll(() => {
  if (!fs.existsSync(main)) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
});

describe.each(dialects)('graceful shutdown of the built server on %s', (dialect) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nordlys-shutdown-'));
  const clientsFile = path.join(dataDir, 'clients.json');
  let dbEnv: Record<string, string> = {};
  let drop: () => Promise<void> = async () => undefined;
  const started: ServerProcess[] = [];

  beforeAll(async () => {
    fs.copyFileSync(path.join(root, 'config/clients.json'), clientsFile);
    const shared = await openShared(dialect, dataDir);
    dbEnv = shared.env;
    drop = shared.drop;
    await migrateLatest(shared.db);
    await Promise.all(Array.from({ length: LOGINS }, (_, i) => createLocalAccount(shared.db, systemClock, userOf(i))));
    await shared.db.close();
  });
  afterAll(async () => {
    for (const s of started) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    await Promise.all(started.map((s) => s.exited));
    await drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const serverEnv = (port: number, extra: Record<string, string>) =>
    childEnv({ PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, DATA_DIR: dataDir, CLIENTS_FILE: clientsFile, ...dbEnv, ...extra });

  test(`SIGTERM with ${LOGINS} logins in flight: every login is answered, the drain still serves, exit 0`, async () => {
    const port = await freePort();
    // All logins come from 127.0.0.1: give that one address room for 20 parallel attempts (default 4 × 5).
    const server = await startServer(process.execPath, [main], serverEnv(port, { SHUTDOWN_DRAIN_SECONDS: '3', SHUTDOWN_GRACE_SECONDS: '25', LOGIN_FREE_FAILURES: '10' }));
    started.push(server);
    const origin = `http://127.0.0.1:${port}`;

    const prepared: PreparedLogin[] = [];
    for (let i = 0; i < LOGINS; i += 1) prepared.push(await prepareLogin(origin, userOf(i)));
    const logins = prepared.map((p) =>
      heldRequest(port, 'POST', p.path, { cookie: p.cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, p.body),
    );
    await Promise.all(logins.map((l) => l.connected));
    const isLoginReceived = (l: LogLine) => l.msg === 'request received' && l.method === 'POST' && String(l.path).endsWith('/login');
    await Promise.all(prepared.map((p) => server.waitFor((l) => isLoginReceived(l) && l.path === p.path)));

    server.child.kill('SIGTERM');
    await server.waitFor((l) => String(l.msg).startsWith('draining'));
    // Still in flight: the server cannot have answered a login whose body it has not received.
    const answeredLogins = (l: LogLine) => l.msg === 'request' && l.method === 'POST' && String(l.path).endsWith('/login');
    expect(server.count(answeredLogins)).toBe(0);

    // During the drain: not ready, but serving, including new connections.
    const ready = await fetch(`${origin}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'shutting down' });
    const discovery = await fetch(`${origin}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
    expect(((await discovery.json()) as { issuer: string }).issuer).toBe(origin);
    // A keep-alive client is told to reconnect (elsewhere): the answer closes its connection.
    const keepAlive = heldRequest(port, 'GET', '/healthz', {}, '');
    await keepAlive.connected;
    keepAlive.finish();
    const healthz = await keepAlive.response;
    expect(healthz.status).toBe(200);
    expect(healthz.headers).toMatch(/\r\nconnection: close/i);

    await server.waitFor((l) => String(l.msg).startsWith('stopped accepting connections'));
    const refused = await new Promise<string>((resolve) => {
      const probe = net.connect(port, '127.0.0.1');
      probe.once('connect', () => (probe.destroy(), resolve('connected')));
      probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');

    // The in-flight logins now send the rest of their bodies and are answered normally.
    for (const l of logins) l.finish();
    const answers = await Promise.all(logins.map((l) => l.response));
    // Each connection was closed by the server once its answer was out (it had closed its listener).
    const completed = answers.filter((a) => a.status === 303 && a.headers.toLowerCase().includes(`\r\nlocation: ${origin}/auth/`)).length;
    expect({ completed, failed: LOGINS - completed }).toEqual({ completed: LOGINS, failed: 0 });

    expect(await server.exited).toBe(0);
    const at = (test: (l: LogLine) => boolean) => server.indexOf(test);
    const draining = at((l) => String(l.msg).startsWith('draining'));
    const readyzDuringDrain = at((l) => l.msg === 'request' && l.path === '/readyz' && l.status === 503);
    const stopped = at((l) => String(l.msg).startsWith('stopped accepting connections'));
    const loginLines = server.lines.map((l, i) => [l, i] as const).filter(([l]) => answeredLogins(l));
    const closed = at((l) => String(l.msg).startsWith('http server closed'));
    const poolClosed = at((l) => l.msg === 'database pool closed');
    expect(loginLines).toHaveLength(LOGINS);
    for (const [line] of loginLines) expect(line.status).toBe(303);
    expect(draining).toBeGreaterThan(-1);
    expect(readyzDuringDrain).toBeGreaterThan(draining);
    expect(stopped).toBeGreaterThan(readyzDuringDrain);
    expect(Math.min(...loginLines.map(([, i]) => i))).toBeGreaterThan(stopped);
    expect(closed).toBeGreaterThan(Math.max(...loginLines.map(([, i]) => i)));
    expect(poolClosed).toBeGreaterThan(closed);
    expect(server.count((l) => String(l.msg).startsWith('grace period over'))).toBe(0);
  });

  test('after the grace period a request that never completes is cut, and the process still exits 0', async () => {
    const port = await freePort();
    const server = await startServer(process.execPath, [main], serverEnv(port, { SHUTDOWN_DRAIN_SECONDS: '0', SHUTDOWN_GRACE_SECONDS: '1' }));
    started.push(server);
    const stuck = heldRequest(port, 'POST', '/interaction/none/login', { 'content-type': 'application/x-www-form-urlencoded' }, 'a=1&b=2&c=3');
    await stuck.connected;
    await server.waitFor((l) => l.msg === 'request received' && l.path === '/interaction/none/login');
    server.child.kill('SIGTERM');
    const cut = await stuck.response;
    expect(cut.status).toBe(0); // no answer: the connection was destroyed
    expect(await server.exited).toBe(0);
    const over = server.lines.find((l) => String(l.msg).startsWith('grace period over'));
    expect(over).toMatchObject({ connections: 1 });
    expect(server.indexOf((l) => l.msg === 'database pool closed')).toBeGreaterThan(server.indexOf((l) => l === over));
  });
});

describe('npm start', () => {
  test('SIGTERM to npm reaches the server, which stops gracefully; npm exits with its code', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nordlys-npm-start-'));
    try {
      const port = await freePort();
      const npmCli = process.env.npm_execpath;
      const [command, args] = npmCli && npmCli.endsWith('.js') ? [process.execPath, [npmCli, 'start']] : ['npm', ['start']];
      const env = childEnv({ PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'info', SHUTDOWN_DRAIN_SECONDS: '0', PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}` });
      const server = await startServer(command, args, env);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      // Only the server itself writes this, after its pool closed: the signal reached it through npm.
      expect(server.count((l) => l.msg === 'database pool closed')).toBe(1);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
