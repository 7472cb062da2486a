/**
 * What metrics cost: client-credentials token requests per second with metrics off and on.
 * `npm run build && node dist/bench/client-credentials.js [--requests 2000] [--concurrency 8] [--seconds 30] [--rounds 2]`
 *
 * The cheapest authenticated request the provider answers (client_secret_basic, one access token stored
 * in PostgreSQL) is the one where the per-request cost of metrics (the request timer, the grant.success
 * counter) weighs most. Each round starts the real server (bench/server.ts, a fresh schema) once without
 * metrics and once with METRICS_TOKEN set, in alternating order, warms it up, then sends up to
 * `--requests` POST /token with `--concurrency` workers, starting none after `--seconds`. With metrics on
 * it scrapes /metrics afterwards and checks the token counter saw every request. Every loop is bounded by
 * count and time. Caveat: the load generator shares the machine's cores with the server.
 */
import { parseArgs } from 'node:util';
import os from 'node:os';
import { CLIENT_ID, startFixture, type Fixture } from './server.js';

const TOKEN = 'bench-metrics-token-0123456789abcdef0123';
const REQUEST_TIMEOUT_MS = 30_000;

function options() {
  const { values } = parseArgs({
    options: { 'database-url': { type: 'string' }, requests: { type: 'string' }, concurrency: { type: 'string' }, seconds: { type: 'string' }, rounds: { type: 'string' } },
  });
  const int = (name: string, raw: string | undefined, fallback: number) => {
    const n = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${raw}`);
    return n;
  };
  return {
    databaseUrl: values['database-url'] ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    requests: int('requests', values.requests, 2000),
    concurrency: int('concurrency', values.concurrency, 8),
    seconds: int('seconds', values.seconds, 30),
    rounds: int('rounds', values.rounds, 2),
  };
}

/** Up to `count` token requests with `concurrency` workers, none started after `capMs`. */
async function load(fx: Fixture, count: number, concurrency: number, capMs: number) {
  const auth = `Basic ${Buffer.from(`${CLIENT_ID}:${fx.clientSecret}`).toString('base64')}`;
  let started = 0;
  let ok = 0;
  let failed = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (started < count && performance.now() - t0 < capMs) {
      started += 1;
      try {
        const res = await fetch(`${fx.url}/token`, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials',
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        await res.arrayBuffer();
        if (res.status === 200) ok += 1;
        else failed += 1;
      } catch {
        failed += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const seconds = (performance.now() - t0) / 1000;
  return { ok, failed, seconds, perSecond: ok / seconds };
}

async function tokensCounted(fx: Fixture): Promise<number> {
  const res = await fetch(`${fx.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const m = /^nordlys_tokens_issued_total\{grant_type="client_credentials"\} (\d+)$/m.exec(await res.text());
  return m ? Number(m[1]) : 0;
}

async function measure(opts: ReturnType<typeof options>, metrics: boolean) {
  const fx = await startFixture(opts.databaseUrl, 30_000, metrics ? { METRICS_TOKEN: TOKEN } : {});
  try {
    const warm = await load(fx, Math.min(200, opts.requests), opts.concurrency, 10_000);
    const run = await load(fx, opts.requests, opts.concurrency, opts.seconds * 1000);
    const failed = warm.failed + run.failed;
    if (metrics) {
      const counted = await tokensCounted(fx);
      if (counted !== warm.ok + run.ok) throw new Error(`the token counter says ${counted}, ${warm.ok + run.ok} tokens were issued`);
    } else if ((await fetch(`${fx.url}/metrics`)).status !== 404) {
      throw new Error('metrics were meant to be off');
    }
    return { ...run, failed };
  } finally {
    await fx.cleanup();
  }
}

async function main(): Promise<number> {
  const opts = options();
  process.stdout.write(`client-credentials benchmark: ${opts.requests} requests per run, concurrency ${opts.concurrency}, cap ${opts.seconds} s, ${opts.rounds} round(s), ${os.availableParallelism()} core(s), Node ${process.version}\n`);
  const rates: Record<'off' | 'on', number[]> = { off: [], on: [] };
  let failures = 0;
  for (let round = 0; round < opts.rounds; round += 1) {
    // Alternate which goes first, so a machine that warms up (or gets busier) favours neither.
    for (const metrics of round % 2 === 0 ? [false, true] : [true, false]) {
      const r = await measure(opts, metrics);
      failures += r.failed;
      rates[metrics ? 'on' : 'off'].push(r.perSecond);
      process.stdout.write(`  round ${round + 1}, metrics ${metrics ? 'on ' : 'off'}: ${r.ok} tokens in ${r.seconds.toFixed(1)} s = ${r.perSecond.toFixed(0)} req/s${r.failed ? `, ${r.failed} failed` : ''}\n`);
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const [off, on] = [mean(rates.off), mean(rates.on)];
  process.stdout.write(`metrics off: ${off.toFixed(0)} req/s\nmetrics on:  ${on.toFixed(0)} req/s\noverhead:    ${(((off - on) / off) * 100).toFixed(1)} %\n`);
  return failures ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
