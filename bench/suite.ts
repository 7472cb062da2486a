/**
 * The benchmark suite: `npm run bench` (builds, then `node dist/bench/suite.js [options]`).
 *
 * In one run, and never two things at once, it measures and prints as a markdown table:
 * - our server (PostgreSQL in a schema of its own, dropped afterwards; LOG_LEVEL=info, the production
 *   default) against the bare oidc-provider of our node_modules (in-memory adapter) for
 *   client_credentials, userinfo, introspection, discovery, JWKS and refresh: 2xx answers per second
 *   with autocannon, and their ratio. Both are warmed up first; the order alternates per endpoint;
 * - full password logins per CPU core against the argon2id verify rate of one thread at our parameters
 *   (19 MiB, t=2), and the server's CPU time per login;
 * - the server's resident memory after N logins (per process; a cluster's workers each);
 * - SQL statements per login and per API request, counted on the wire by a proxy in front of PostgreSQL
 *   (bench/sql-count.ts), on a server of its own;
 * - what logging costs: client_credentials on two fresh servers of their own, at the chosen level and at
 *   LOG_LEVEL=warn (the goal: at most 10 % at info); fresh, since the main server has by then stored every
 *   earlier run's tokens.
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
import { ACCOUNT, CLIENT_ID, REDIRECT_URI, startFixture, type Fixture } from './server.js';

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

interface EndpointRow {
  endpoint: Endpoint;
  ours?: LoadOutcome;
  bare?: LoadOutcome;
  problem?: string;
}

async function measureEndpoints(opts: Options, product: EndpointTarget, reference: EndpointTarget): Promise<EndpointRow[]> {
  const rows: EndpointRow[] = [];
  const warm = { connections: opts.connections, amount: Math.min(1000, Math.ceil(opts.requests / 5)), seconds: Math.min(5, opts.seconds) };
  const run = { connections: opts.connections, amount: opts.requests, seconds: opts.seconds };
  for (const [i, endpoint] of ENDPOINTS.entries()) {
    if (interrupted) break;
    const row: EndpointRow = { endpoint };
    rows.push(row);
    const sides = [['ours', product], ['bare', reference]] as const;
    // Alternate which goes first, so a machine that warms up (or gets busier) favours neither.
    for (const [side, target] of i % 2 === 0 ? sides : [...sides].reverse()) {
      const request = endpointRequest(endpoint, target);
      const problem = await checkEndpoint(request);
      if (problem) {
        row.problem = `${side}: ${problem}`;
        continue;
      }
      await runLoad(request, warm);
      const outcome = await runLoad(request, run);
      row[side] = outcome;
      log(`  ${endpoint.padEnd(18)} ${side === 'ours' ? 'ours' : 'bare'}: ${outcome.ok} in ${outcome.seconds.toFixed(1)} s = ${formatRate(outcome.perSecond)}${outcome.failed ? `, ${outcome.failed} failed` : ''}${outcome.capped ? ' (time cap)' : ''}`);
    }
  }
  return rows;
}

/** client_credentials on a server of its own with `env` (the logging-cost run). */
async function clientCredentialsAt(opts: Options, env: Record<string, string>): Promise<LoadOutcome> {
  const fx = await startFixture(opts.databaseUrl, 60_000, env);
  try {
    const config = await discoverClient(fx.url, CLIENT_ID, fx.clientSecret);
    const target: EndpointTarget = { url: fx.url, metadata: config.serverMetadata(), clientId: CLIENT_ID, clientSecret: fx.clientSecret, accessToken: '', refreshToken: undefined };
    const request = endpointRequest('client_credentials', target);
    await runLoad(request, { connections: opts.connections, amount: Math.min(1000, Math.ceil(opts.requests / 5)), seconds: Math.min(5, opts.seconds) });
    return await runLoad(request, { connections: opts.connections, amount: opts.requests, seconds: opts.seconds });
  } finally {
    await fx.cleanup();
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
  let quiet: LoadOutcome | undefined;
  let loud: LoadOutcome | undefined;
  log('starting our server and the bare oidc-provider...');
  const bare = await startBareProvider(30_000);
  try {
    const fx = await startFixture(opts.databaseUrl, 60_000, env);
    try {
      const { product, reference, ourLogin } = await endpointTargets(fx, bare);
      log('endpoints:');
      rows = await measureEndpoints(opts, product, reference);
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
      log(`logging cost: client_credentials on two fresh servers, LOG_LEVEL=${opts.logLevel} and warn...`);
      loud = await clientCredentialsAt(opts, env);
      quiet = await clientCredentialsAt(opts, { ...env, LOG_LEVEL: 'warn' });
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
  const table: string[][] = rows.map((r) => [
    r.endpoint,
    r.ours ? formatRate(r.ours.perSecond) : 'n/a',
    r.bare ? formatRate(r.bare.perSecond) : 'n/a',
    r.ours && r.bare ? `**${formatRatio(r.ours.perSecond, r.bare.perSecond)}** of bare` : (r.problem ?? 'n/a'),
    sqlFor(r.endpoint),
  ]);
  const loginSql = sql?.perLogin.length ? `${median(sql.perLogin)} per login (median of ${sql.perLogin.length}; ${Math.min(...sql.perLogin)}–${Math.max(...sql.perLogin)})` : 'n/a';
  table.push([
    'full password login, per core',
    formatRate(perCore),
    '—',
    `**${formatRatio(perCore, verify.perSecond)}** of the argon2id verify rate (${formatRate(verify.perSecond)} per thread)`,
    loginSql,
  ]);
  if (quiet && loud) {
    const cost = `logging costs **${(100 * (1 - loud.perSecond / quiet.perSecond)).toFixed(0)} %** at ${opts.logLevel} (${formatRate(loud.perSecond)} on a fresh server at ${opts.logLevel})`;
    table.push(['client_credentials at LOG_LEVEL=warn, fresh server', formatRate(quiet.perSecond), '—', cost, '']);
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
  ]);
  const rssText = rss.length > 1 ? `${formatMiB(Math.max(...rss.slice(1)))} per worker (max of ${rss.length - 1}), primary ${formatMiB(rss[0])}` : formatMiB(rss[0]);
  table.push([`RSS after ${logins?.ok ?? 0} logins`, rssText, '—', '', '']);
  for (const r of rows) failures += (r.ours?.failed ?? 0) + (r.bare?.failed ?? 0) + (r.problem ? 1 : 0);

  log('');
  log(markdownTable(['metric', 'ours (PostgreSQL)', 'bare oidc-provider', 'ratio', 'SQL statements'], table));
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
