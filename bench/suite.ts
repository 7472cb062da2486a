/**
 * The benchmark suite: `npm run bench` (builds, then `node dist/bench/suite.js [options]`).
 *
 * In one run, and never two things at once, it measures and prints as a markdown table:
 * - our server (PostgreSQL in a schema of its own, dropped afterwards; LOG_LEVEL=info, the production
 *   default) against the bare oidc-provider of our node_modules (in-memory adapter) for
 *   client_credentials, userinfo, introspection, discovery, JWKS and refresh: 2xx answers per second
 *   with autocannon, and their ratio; and the CPU time each server process spent per answered request
 *   (from /proc), which moves far less than req/s when something else runs on the machine. Both are
 *   warmed up first; the order alternates per endpoint;
 * - full password logins per CPU core against the argon2id verify rate of one thread at our parameters
 *   (19 MiB, t=2), and the server's CPU time per login;
 * - the server's resident memory after N logins (per process; a cluster's workers each);
 * - SQL statements per login and per API request, counted on the wire by a proxy in front of PostgreSQL
 *   (bench/sql-count.ts), on a server of its own;
 * - what logging costs: client_credentials on two fresh servers of their own, at the chosen level and at
 *   LOG_LEVEL=warn (the goal: at most 10 % at info), run side by side in alternating rounds; the cost is
 *   the extra server CPU per request at the chosen level (req/s is printed too, but two runs of one
 *   server differ by more than logging costs on a shared machine); fresh, since the main server has by
 *   then stored every earlier run's tokens.
 * Caveat: the load generator runs on the same machine and takes CPU too.
 *
 * Options (argument or environment): --database-url / BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/test),
 * --requests / BENCH_REQUESTS (20000 per endpoint and server), --seconds / BENCH_SECONDS (15, the cap of each
 * endpoint run), --connections / BENCH_CONNECTIONS (10), --logins / BENCH_LOGINS (1000: the login run, after
 * which memory is read), --login-seconds / BENCH_LOGIN_SECONDS (300), --concurrency / BENCH_CONCURRENCY
 * (cores × 2 logins at once), --verifies / BENCH_VERIFIES (50), --sql-logins / BENCH_SQL_LOGINS (5),
 * --workers / BENCH_WORKERS (1: WORKERS of our server; the bare library is always one process),
 * --log-level / BENCH_LOG_LEVEL (info). Every loop is bounded by count and time. Exits 1 on any failure.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { ARGON2_OPTIONS } from '../src/passwords/hasher.js';
import { startBareProvider, type BareFixture } from './bare-fixture.js';
import { checkEndpoint, endpointRequest, ENDPOINTS, type Endpoint, type EndpointTarget } from './endpoints.js';
import { runLoad, type LoadOutcome } from './http-load.js';
import { developmentPages, discoverClient, loadLogins, login, measureVerify, passwordAndConsent, type LoginTarget } from './login-flow.js';
import { formatMiB, formatRate, formatRatio, markdownTable, median, percentile } from './report.js';
import { countStatements, type SqlCounts } from './sql-count.js';
import { ACCOUNT, CLIENT_ID, REDIRECT_URI, procCpuSeconds, startFixture, type Fixture } from './server.js';

function options() {
  const names = ['database-url', 'requests', 'seconds', 'connections', 'logins', 'login-seconds', 'concurrency', 'verifies', 'sql-logins', 'workers', 'log-level'] as const;
  const { values } = parseArgs({ options: Object.fromEntries(names.map((n) => [n, { type: 'string' }])) as Record<(typeof names)[number], { type: 'string' }> });
  const env = (name: string) => process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  const raw = (name: (typeof names)[number]) => (values[name] as string | undefined) ?? env(name);
  const int = (name: (typeof names)[number], fallback: number, min = 1) => {
    const given = raw(name);
    const n = given === undefined || given === '' ? fallback : Number(given);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer of at least ${min}, got ${given}`);
    return n;
  };
  const cores = os.availableParallelism();
  return {
    cores,
    databaseUrl: raw('database-url') ?? 'postgres://postgres@127.0.0.1:5432/test',
    requests: int('requests', 20_000),
    seconds: int('seconds', 15),
    connections: int('connections', 10),
    logins: int('logins', 1000),
    loginSeconds: int('login-seconds', 300),
    concurrency: int('concurrency', cores * 2),
    verifies: int('verifies', 50),
    sqlLogins: int('sql-logins', 5, 0),
    workers: int('workers', 1),
    logLevel: raw('log-level') ?? 'info',
  };
}
type Options = ReturnType<typeof options>;

const log = (line: string) => process.stdout.write(`${line}\n`);
let interrupted = false;

async function endpointTargets(fx: Fixture, bare: BareFixture) {
  const ours = await discoverClient(fx.url, CLIENT_ID, fx.clientSecret);
  const theirs = await discoverClient(bare.url, CLIENT_ID, bare.clientSecret);
  const ourLogin: LoginTarget = { url: fx.url, config: ours, redirectUri: REDIRECT_URI, interact: passwordAndConsent(ACCOUNT), accountId: fx.accountId };
  const bareLogin: LoginTarget = { url: bare.url, config: theirs, redirectUri: REDIRECT_URI, interact: developmentPages(bare.accountId), accountId: bare.accountId };
  const ourTokens = await login(ourLogin);
  const bareTokens = await login(bareLogin);
  const product: EndpointTarget = { url: fx.url, metadata: ours.serverMetadata(), clientId: CLIENT_ID, clientSecret: fx.clientSecret, accessToken: ourTokens.access_token, refreshToken: ourTokens.refresh_token };
  const reference: EndpointTarget = { url: bare.url, metadata: theirs.serverMetadata(), clientId: CLIENT_ID, clientSecret: bare.clientSecret, accessToken: bareTokens.access_token, refreshToken: bareTokens.refresh_token };
  return { product, reference, ourLogin };
}

/** A load run and the CPU seconds its server process spent on it. */
interface Measured {
  outcome: LoadOutcome;
  cpuSeconds: number;
}

interface EndpointRow {
  endpoint: Endpoint;
  ours?: Measured;
  bare?: Measured;
  problem?: string;
}

/** CPU µs per answered request, or NaN. */
const cpuPerRequestUs = (m: Measured | undefined) => (m && m.outcome.ok > 0 ? (m.cpuSeconds / m.outcome.ok) * 1e6 : NaN);

/** Runs a load against a server whose process CPU `cpu()` reads. */
async function measured(request: Parameters<typeof runLoad>[0], options: Parameters<typeof runLoad>[1], cpu: () => number): Promise<Measured> {
  const before = cpu();
  const outcome = await runLoad(request, options);
  return { outcome, cpuSeconds: cpu() - before };
}

type Side = { target: EndpointTarget; cpu: () => number };

async function measureEndpoints(opts: Options, product: Side, reference: Side): Promise<EndpointRow[]> {
  const rows: EndpointRow[] = [];
  const warm = { connections: opts.connections, amount: Math.min(1000, Math.ceil(opts.requests / 5)), seconds: Math.min(5, opts.seconds) };
  const run = { connections: opts.connections, amount: opts.requests, seconds: opts.seconds };
  for (const [i, endpoint] of ENDPOINTS.entries()) {
    if (interrupted) break;
    const row: EndpointRow = { endpoint };
    rows.push(row);
    const sides = [['ours', product], ['bare', reference]] as const;
    // Alternate which goes first, so a machine that warms up (or gets busier) favours neither.
    for (const [side, { target, cpu }] of i % 2 === 0 ? sides : [...sides].reverse()) {
      const request = endpointRequest(endpoint, target);
      const problem = await checkEndpoint(request);
      if (problem) {
        row.problem = `${side}: ${problem}`;
        continue;
      }
      await runLoad(request, warm);
      const m = await measured(request, run, cpu);
      row[side] = m;
      const { outcome } = m;
      log(`  ${endpoint.padEnd(18)} ${side === 'ours' ? 'ours' : 'bare'}: ${outcome.ok} in ${outcome.seconds.toFixed(1)} s = ${formatRate(outcome.perSecond)}, ${cpuPerRequestUs(m).toFixed(0)} µs CPU per request${outcome.failed ? `, ${outcome.failed} failed` : ''}${outcome.capped ? ' (time cap)' : ''}`);
    }
  }
  return rows;
}

/** What one logging level's server did over every round of the logging-cost run. */
interface LevelRun {
  ok: number;
  failed: number;
  seconds: number;
  cpuSeconds: number;
}

/**
 * client_credentials on two fresh servers of their own, one per level (the logging-cost run): both are
 * started and warmed up, then ROUNDS rounds alternate between them, so whatever else the machine does
 * falls on both alike.
 */
async function loggingCost(opts: Options, loud: Record<string, string>, quiet: Record<string, string>): Promise<{ loud: LevelRun; quiet: LevelRun }> {
  const ROUNDS = 3;
  const servers = [await startFixture(opts.databaseUrl, 60_000, loud), await startFixture(opts.databaseUrl, 60_000, quiet)] as const;
  try {
    const requests = await Promise.all(
      servers.map(async (fx) => {
        const config = await discoverClient(fx.url, CLIENT_ID, fx.clientSecret);
        const target: EndpointTarget = { url: fx.url, metadata: config.serverMetadata(), clientId: CLIENT_ID, clientSecret: fx.clientSecret, accessToken: '', refreshToken: undefined };
        return endpointRequest('client_credentials', target);
      }),
    );
    const runs: [LevelRun, LevelRun] = [
      { ok: 0, failed: 0, seconds: 0, cpuSeconds: 0 },
      { ok: 0, failed: 0, seconds: 0, cpuSeconds: 0 },
    ];
    const perRound = { connections: opts.connections, amount: Math.ceil(opts.requests / ROUNDS), seconds: opts.seconds };
    for (const [i, request] of requests.entries()) await runLoad(request, { connections: opts.connections, amount: Math.min(1000, Math.ceil(opts.requests / 5)), seconds: Math.min(5, opts.seconds) }).then((w) => (runs[i]!.failed += w.failed));
    for (let round = 0; round < ROUNDS && !interrupted; round++) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) {
        const m = await measured(requests[i]!, perRound, () => servers[i]!.cpuSeconds() ?? NaN);
        const run = runs[i]!;
        run.ok += m.outcome.ok;
        run.failed += m.outcome.failed;
        run.seconds += m.outcome.seconds;
        run.cpuSeconds += m.cpuSeconds;
      }
    }
    return { loud: runs[0], quiet: runs[1] };
  } finally {
    for (const fx of servers) await fx.cleanup();
  }
}

async function main(): Promise<number> {
  const opts = options();
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130); // a second Ctrl-C: the 'exit' hooks kill the servers; schemas may stay
    interrupted = true;
    process.stderr.write('\ninterrupted: finishing the run under way, then cleaning up (Ctrl-C again to quit at once)\n');
  });
  const oidcVersion = (createRequire(import.meta.url)('oidc-provider/package.json') as { version: string }).version;
  log(`# Nordlys ID benchmark suite\n`);
  log(`${opts.cores} CPU core(s) (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, oidc-provider ${oidcVersion}`);
  log(`ours: PostgreSQL, LOG_LEVEL=${opts.logLevel}, WORKERS=${opts.workers}; bare: oidc-provider with its in-memory adapter, one process`);
  log(`endpoints: up to ${opts.requests} requests per server, cap ${opts.seconds} s, ${opts.connections} connections; logins: ${opts.logins}, concurrency ${opts.concurrency}, cap ${opts.loginSeconds} s\n`);

  log(`argon2id verify (m=${ARGON2_OPTIONS.memoryCost} KiB, t=${ARGON2_OPTIONS.timeCost}, p=${ARGON2_OPTIONS.parallelism}), one thread, ${opts.verifies} verifies...`);
  const verify = await measureVerify(ACCOUNT.password, opts.verifies, 60_000);
  const env = { LOG_LEVEL: opts.logLevel, WORKERS: String(opts.workers), AUTH_NEW_INTERACTIONS_PER_IP_MINUTE: '1000000' };

  let failures = 0;
  let rows: EndpointRow[] = [];
  let logins: Awaited<ReturnType<typeof loadLogins>> | undefined;
  let serverCpu = NaN;
  let rss: number[] = [];
  let sql: SqlCounts | undefined;
  // The cost of logging is measured on two fresh servers, one per level, alternating nothing else: the
  // main server has stored every earlier run's tokens by then, which a fresh one has not.
  let levels: { loud: LevelRun; quiet: LevelRun } | undefined;
  log('starting our server and the bare oidc-provider...');
  const bare = await startBareProvider(30_000);
  try {
    const fx = await startFixture(opts.databaseUrl, 60_000, env);
    try {
      const { product, reference, ourLogin } = await endpointTargets(fx, bare);
      log('endpoints:');
      rows = await measureEndpoints(opts, { target: product, cpu: () => fx.cpuSeconds() ?? NaN }, { target: reference, cpu: () => procCpuSeconds(bare.server.pid) ?? NaN });
      await bare.cleanup(); // the login run has the machine to itself
      if (!interrupted) {
        log('logins:');
        const warmup = await loadLogins(ourLogin, Math.min(opts.concurrency, opts.logins), opts.concurrency, 60_000, () => interrupted);
        const cpu0 = fx.cpuSeconds() ?? NaN;
        logins = await loadLogins(ourLogin, opts.logins, opts.concurrency, opts.loginSeconds * 1000, () => interrupted);
        serverCpu = (fx.cpuSeconds() ?? NaN) - cpu0;
        rss = fx.rssKiB();
        failures += warmup.failed + logins.failed;
        for (const [reason, n] of [...warmup.errors, ...logins.errors]) log(`  ${n} × ${reason}`);
        log(`  ${logins.ok} logins in ${logins.seconds.toFixed(1)} s${logins.capped ? ' (time cap)' : ''}`);
      }
    } finally {
      await fx.cleanup();
    }
    if (!interrupted && opts.logLevel !== 'warn') {
      log(`logging cost: client_credentials on two fresh servers, LOG_LEVEL=${opts.logLevel} and warn, alternating rounds...`);
      levels = await loggingCost(opts, env, { ...env, LOG_LEVEL: 'warn' });
    }
    if (!interrupted && opts.sqlLogins > 0) {
      log(`SQL statements: ${opts.sqlLogins} logins, then one request per endpoint, counted on the wire...`);
      sql = await countStatements(opts.databaseUrl, opts.sqlLogins, env);
    }
  } finally {
    await bare.cleanup();
  }

  const perCore = logins && logins.seconds > 0 ? logins.ok / logins.seconds / opts.cores : NaN;
  const sqlFor = (endpoint: Endpoint) => (sql?.perRequest[endpoint] === undefined ? 'n/a' : String(sql.perRequest[endpoint]));
  const us = (n: number) => (Number.isFinite(n) ? `${n.toFixed(0)} µs` : 'n/a');
  const table: string[][] = rows.map((r) => [
    r.endpoint,
    r.ours ? formatRate(r.ours.outcome.perSecond) : 'n/a',
    r.bare ? formatRate(r.bare.outcome.perSecond) : 'n/a',
    r.ours && r.bare ? `**${formatRatio(r.ours.outcome.perSecond, r.bare.outcome.perSecond)}** of bare` : (r.problem ?? 'n/a'),
    // bare ÷ ours: the share of the bare library's speed our server's CPU allows (1 = as cheap as bare).
    r.ours && r.bare ? `${us(cpuPerRequestUs(r.ours))} / ${us(cpuPerRequestUs(r.bare))} = **${formatRatio(cpuPerRequestUs(r.bare), cpuPerRequestUs(r.ours))}**` : 'n/a',
    sqlFor(r.endpoint),
  ]);
  const loginSql = sql?.perLogin.length ? `${median(sql.perLogin)} per login (median of ${sql.perLogin.length}; ${Math.min(...sql.perLogin)}–${Math.max(...sql.perLogin)})` : 'n/a';
  table.push([
    'full password login, per core',
    formatRate(perCore),
    '—',
    `**${formatRatio(perCore, verify.perSecond)}** of the argon2id verify rate (${formatRate(verify.perSecond)} per thread)`,
    '',
    loginSql,
  ]);
  if (levels) {
    const { loud, quiet } = levels;
    const cpu = (r: LevelRun) => (r.ok > 0 ? (r.cpuSeconds / r.ok) * 1e6 : NaN);
    const rate = (r: LevelRun) => (r.seconds > 0 ? r.ok / r.seconds : NaN);
    const cost = `logging costs **${(100 * (cpu(loud) / cpu(quiet) - 1)).toFixed(0)} %** of server CPU at ${opts.logLevel}; by req/s ${(100 * (1 - rate(loud) / rate(quiet))).toFixed(0)} % (${formatRate(rate(loud))} at ${opts.logLevel})`;
    table.push([`client_credentials, fresh servers: LOG_LEVEL=warn vs ${opts.logLevel}`, formatRate(rate(quiet)), '—', cost, `${us(cpu(quiet))} at warn, ${us(cpu(loud))} at ${opts.logLevel}`, '']);
    failures += quiet.failed + loud.failed;
  }
  // The issue's figure above divides throughput by every core, so the load generator's and PostgreSQL's CPU
  // count against the login. This one asks the title's question directly: how much of the server's own CPU
  // per login is the hash (1 = nothing but argon2id).
  const cpuPerLoginMs = logins?.ok ? (serverCpu / logins.ok) * 1000 : NaN;
  table.push([
    'full password login, server CPU',
    Number.isFinite(cpuPerLoginMs) ? `${cpuPerLoginMs.toFixed(1)} ms per login` : 'n/a',
    '—',
    Number.isFinite(cpuPerLoginMs) ? `**${formatRatio(1000 / verify.perSecond, cpuPerLoginMs)}** is argon2id (${(1000 / verify.perSecond).toFixed(1)} ms)` : 'n/a',
    '',
    '',
  ]);
  const rssText = rss.length > 1 ? `${formatMiB(Math.max(...rss.slice(1)))} per worker (max of ${rss.length - 1}), primary ${formatMiB(rss[0])}` : formatMiB(rss[0]);
  table.push([`RSS after ${logins?.ok ?? 0} logins`, rssText, '—', '', '', '']);
  for (const r of rows) failures += (r.ours?.outcome.failed ?? 0) + (r.bare?.outcome.failed ?? 0) + (r.problem ? 1 : 0);

  log('');
  log(markdownTable(['metric', 'ours (PostgreSQL)', 'bare oidc-provider', 'ratio', 'server CPU per request: ours / bare = ratio', 'SQL statements'], table));
  log('');
  if (logins?.ok) {
    const ms = (n: number) => `${n.toFixed(0)} ms`;
    log(`login latency p50 / p95: ${ms(percentile(logins.latenciesMs, 50))} / ${ms(percentile(logins.latenciesMs, 95))}; server CPU per login: ${(serverCpu / logins.ok * 1000).toFixed(1)} ms (argon2id alone: ${(1000 / verify.perSecond).toFixed(1)} ms)`);
  }
  if (failures) log(`${failures} request(s) or login(s) failed`);
  return failures || interrupted ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
