/**
 * Password-login benchmark alone: `npm run bench:login` (or `node dist/bench/login.js --logins 200 --concurrency 4`);
 * `npm run bench` runs it as part of the suite (bench/suite.ts).
 *
 * What it measures, and why: a password login is at least one argon2id verify (19 MiB, 2 passes), which
 * is deliberately expensive, so it is the floor cost of every login. This runs the full login a relying
 * party and a person cause (authorize → login page → POST password → consent page → POST consent →
 * callback with code → token request with client_secret_basic → userinfo) against the real server,
 * started as a child process on PostgreSQL, each login in a fresh browser session so that login and
 * consent both happen every time. In the same run, and not at the same time, it measures the bare
 * argon2id verify rate with the server's ARGON2_OPTIONS on one thread. Both rates are divided by the CPU
 * cores (os.availableParallelism()); their ratio is the share of a login's CPU cost that is argon2id:
 * near 1 means everything else is negligible, 0.5 means everything else costs as much as the hash.
 * Also printed: p50/p95 login latency and the server's peak resident memory (VmHWM).
 * Caveat: the load generator runs on the same machine and takes CPU too (its CPU time is printed).
 *
 * Options (argument or environment): --database-url / DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test),
 * --logins / BENCH_LOGINS (200), --concurrency / BENCH_CONCURRENCY (cores × 2), --seconds / BENCH_SECONDS
 * (120, the time cap of the login phase), --verifies / BENCH_VERIFIES (50), --node-options / BENCH_NODE_OPTIONS
 * (the server's NODE_OPTIONS instead of the recommended heap flags: to compare V8 heap settings). Every loop is bounded by count and
 * time; a phase that hits its cap stops early and reports what it did. Exits 1 if any login failed.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { ARGON2_OPTIONS } from '../src/passwords/hasher.js';
import { discoverClient, loadLogins, measureVerify, passwordAndConsent, type LoginTarget } from './login-flow.js';
import { ACCOUNT, CLIENT_ID, REDIRECT_URI, startFixture } from './server.js';

const VERIFY_CAP_MS = 30_000;

function options() {
  const { values } = parseArgs({
    options: {
      'database-url': { type: 'string' },
      logins: { type: 'string' },
      concurrency: { type: 'string' },
      seconds: { type: 'string' },
      verifies: { type: 'string' },
      'node-options': { type: 'string' },
    },
  });
  const int = (name: string, raw: string | undefined, fallback: number) => {
    const n = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${raw}`);
    return n;
  };
  const cores = os.availableParallelism();
  return {
    cores,
    databaseUrl: values['database-url'] ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    logins: int('logins', values.logins ?? process.env.BENCH_LOGINS, 200),
    concurrency: int('concurrency', values.concurrency ?? process.env.BENCH_CONCURRENCY, cores * 2),
    seconds: int('seconds', values.seconds ?? process.env.BENCH_SECONDS, 120),
    verifies: int('verifies', values.verifies ?? process.env.BENCH_VERIFIES, 50),
    nodeOptions: values['node-options'] ?? process.env.BENCH_NODE_OPTIONS,
  };
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function table(rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}

async function main(): Promise<number> {
  const opts = options();
  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130); // a second Ctrl-C: the 'exit' hook kills the server; the schema stays
    interrupted = true;
    process.stderr.write('\ninterrupted: finishing the logins under way, then cleaning up (Ctrl-C again to quit at once)\n');
  });
  process.stdout.write(
    `Nordlys ID password-login benchmark: ${opts.logins} logins, concurrency ${opts.concurrency}, cap ${opts.seconds} s, ` +
      `${opts.cores} CPU core(s) (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}\n`,
  );

  process.stdout.write(`measuring argon2id verify (m=${ARGON2_OPTIONS.memoryCost} KiB, t=${ARGON2_OPTIONS.timeCost}, p=${ARGON2_OPTIONS.parallelism}), one thread, ${opts.verifies} verifies...\n`);
  const verify = await measureVerify(ACCOUNT.password, opts.verifies, VERIFY_CAP_MS);

  process.stdout.write('preparing schema, account and clients file; starting the server...\n');
  const fx = await startFixture(opts.databaseUrl, 30_000, opts.nodeOptions === undefined ? {} : { NODE_OPTIONS: opts.nodeOptions });
  try {
    const config = await discoverClient(fx.url, CLIENT_ID, fx.clientSecret);
    const target: LoginTarget = { url: fx.url, config, redirectUri: REDIRECT_URI, interact: passwordAndConsent(ACCOUNT), accountId: fx.accountId };
    const capMs = opts.seconds * 1000;
    const warmupCount = Math.min(opts.concurrency, opts.logins);
    process.stdout.write(`server ${fx.url} (pid ${fx.server.pid}, schema ${fx.schema}, NODE_OPTIONS "${fx.nodeOptions}"); ${warmupCount} warm-up logins, then ${opts.logins} measured...\n`);
    const warmup = await loadLogins(target, warmupCount, opts.concurrency, Math.min(capMs, 30_000), () => interrupted);

    const cpu0 = fx.cpuSeconds();
    const benchCpu0 = process.cpuUsage();
    const run = interrupted ? undefined : await loadLogins(target, opts.logins, opts.concurrency, capMs, () => interrupted);
    const serverCpu = cpu0 !== undefined ? (fx.cpuSeconds() ?? NaN) - cpu0 : NaN;
    const benchCpuUsage = process.cpuUsage(benchCpu0);
    const benchCpu = (benchCpuUsage.user + benchCpuUsage.system) / 1e6;
    const peakKiB = fx.peakRssKiB();
    const rssNowKiB = fx.rssKiB();

    const ok = run?.ok ?? 0;
    const failed = warmup.failed + (run?.failed ?? 0);
    const seconds = run?.seconds ?? 0;
    const sorted = [...(run?.latenciesMs ?? [])].sort((a, b) => a - b);
    const loginRate = seconds > 0 ? ok / seconds : 0;
    const loginPerCore = loginRate / opts.cores;
    const verifyPerCore = verify.perSecond; // one thread = one core
    const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

    process.stdout.write(
      `\nResults\n${table([
        ['logins completed', `${ok} of ${opts.logins}${run?.capped ? ` (stopped at the ${opts.seconds} s cap)` : ''}${interrupted ? ' (interrupted)' : ''}`],
        ['failures', `${failed}${warmup.failed ? ` (${warmup.failed} in warm-up)` : ''}`],
        ['concurrency', String(opts.concurrency)],
        ['wall time', `${f(seconds, 2)} s`],
        ['logins/s', f(loginRate, 2)],
        ['logins/s per CPU core', `${f(loginPerCore, 2)}  (${opts.cores} cores)`],
        ['login latency p50 / p95', `${f(percentile(sorted, 50), 0)} / ${f(percentile(sorted, 95), 0)} ms`],
        ['argon2id verifies/s per core', `${f(verifyPerCore, 2)}  (${verify.done} verifies in ${f(verify.seconds, 2)} s${verify.capped ? ', capped' : ''})`],
        ['ratio login/verify per core', `${ok ? f(loginPerCore / verifyPerCore, 3) : 'n/a'}  (1 = argon2id is the whole cost)`],
        ['server CPU per login', `${ok ? f((serverCpu / ok) * 1000, 1) : 'n/a'} ms  (argon2id alone: ${f(1000 / verifyPerCore, 1)} ms)`],
        ['bench process CPU per login', `${ok ? f((benchCpu / ok) * 1000, 1) : 'n/a'} ms  (load generator, same machine)`],
        ['server peak memory (VmHWM)', peakKiB === undefined ? 'n/a' : `${f(peakKiB / 1024, 1)} MiB`],
        ['server memory after the run (VmRSS)', rssNowKiB.length ? rssNowKiB.map((k) => `${f(k / 1024, 1)} MiB`).join(', ') : 'n/a'],
      ])}\n`,
    );
    const errors = new Map(warmup.errors);
    for (const [reason, n] of run?.errors ?? []) errors.set(reason, (errors.get(reason) ?? 0) + n);
    if (errors.size) {
      process.stdout.write(`\nFailures by reason:\n${[...errors].slice(0, 10).map(([r, n]) => `  ${n} × ${r}`).join('\n')}\n`);
      process.stdout.write(`\nLast server output:\n${fx.output() || '  (none)'}\n`);
    }
    return failed > 0 || ok === 0 ? 1 : 0;
  } finally {
    await fx.cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
