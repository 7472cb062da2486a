/**
 * Two builds of our server side by side: `npm run build && node dist/bench/compare-builds.js --baseline DIR
 * [--only userinfo,client_credentials] [--rounds 6] [--requests 4000] [--env KEY=VALUE …]`.
 *
 * DIR is another checkout with `dist/` built (a worktree at an older commit: `git worktree add /tmp/base
 * <commit>`, link or install its node_modules, `npm run build` there). Each side is started by its own
 * `dist/bench/server.js` (its own start flags, PostgreSQL in a schema of its own, LOG_LEVEL=info), logged
 * in once, and then the endpoints run in rounds that alternate which side goes first, each round after a
 * warm-up. It prints the server CPU per answered request (from /proc) of every round and the means; the
 * first round is still warming the JIT on both sides; requests per second are printed beside (a change can
 * cost no CPU and still make requests wait). Without --baseline both sides are this build, which
 * with `--env` compares settings (`--env LOG_LEVEL=warn` is what logging costs): --env applies to the
 * candidate (this build) only. This is how the figures in issue 13's notes were compared: on a shared
 * machine two runs minutes apart differ by tens of percent, two servers measured in alternating rounds by a
 * few. Every loop is bounded by count and time. Exits 1 when a request failed.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ENDPOINTS, type Endpoint, type EndpointTarget } from './endpoints.js';

type ServerModule = typeof import('./server.js');
type FlowModule = typeof import('./login-flow.js');
type EndpointsModule = typeof import('./endpoints.js');
type LoadModule = typeof import('./http-load.js');

interface Side {
  name: string;
  cleanup(): Promise<void>;
  cpuSeconds(): number;
  endpoints: EndpointsModule;
  load: LoadModule;
  target: EndpointTarget;
}

const thisBuild = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const log = (line: string) => process.stdout.write(`${line}\n`);

function options() {
  const { values } = parseArgs({
    options: {
      baseline: { type: 'string' },
      'database-url': { type: 'string' },
      only: { type: 'string' },
      rounds: { type: 'string' },
      requests: { type: 'string' },
      env: { type: 'string', multiple: true },
    },
  });
  const int = (name: string, raw: string | undefined, fallback: number) => {
    const n = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${raw}`);
    return n;
  };
  const only = values.only ? values.only.split(',') : ['userinfo', 'introspection', 'client_credentials'];
  for (const e of only) if (!(ENDPOINTS as readonly string[]).includes(e)) throw new Error(`--only: unknown endpoint ${e} (one of ${ENDPOINTS.join(', ')})`);
  const env: Record<string, string> = {};
  for (const pair of values.env ?? []) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new Error(`--env wants KEY=VALUE, got ${pair}`);
    env[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return {
    baseline: path.resolve(values.baseline ?? thisBuild),
    databaseUrl: values['database-url'] ?? process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    endpoints: only as Endpoint[],
    rounds: int('rounds', values.rounds, 6),
    requests: int('requests', values.requests, 4000),
    env,
  };
}

/** Starts one build's server through that build's own bench modules, and logs in once. */
async function startSide(name: string, root: string, databaseUrl: string, env: Record<string, string>): Promise<Side> {
  const load = async <T>(file: string) => (await import(path.join(root, 'dist', 'bench', file))) as T;
  const server = await load<ServerModule>('server.js');
  const flow = await load<FlowModule>('login-flow.js');
  const fx = await server.startFixture(databaseUrl, 60_000, { LOG_LEVEL: 'info', AUTH_NEW_INTERACTIONS_PER_IP_MINUTE: '1000000', ...env });
  try {
    const config = await flow.discoverClient(fx.url, server.CLIENT_ID, fx.clientSecret);
    const tokens = await flow.login({ url: fx.url, config, redirectUri: server.REDIRECT_URI, interact: flow.passwordAndConsent(server.ACCOUNT), accountId: fx.accountId });
    return {
      name,
      cleanup: () => fx.cleanup(),
      cpuSeconds: () => fx.cpuSeconds() ?? NaN,
      endpoints: await load<EndpointsModule>('endpoints.js'),
      load: await load<LoadModule>('http-load.js'),
      target: { url: fx.url, metadata: config.serverMetadata(), clientId: server.CLIENT_ID, clientSecret: fx.clientSecret, accessToken: tokens.access_token, refreshToken: tokens.refresh_token },
    };
  } catch (err) {
    await fx.cleanup();
    throw err;
  }
}

async function main(): Promise<number> {
  const opts = options();
  log(`baseline: ${opts.baseline}\ncandidate: ${thisBuild}${Object.keys(opts.env).length ? ` with ${Object.entries(opts.env).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}`);
  const sides: Side[] = [];
  let failures = 0;
  try {
    sides.push(await startSide('baseline', opts.baseline, opts.databaseUrl, {}));
    sides.push(await startSide('candidate', thisBuild, opts.databaseUrl, opts.env));
    log('endpoint            side       CPU µs per request, round by round         mean');
    for (const endpoint of opts.endpoints) {
      const perRound = new Map<Side, number[]>(sides.map((s) => [s, []]));
      // Requests per second too: a change can cost no CPU and still make requests wait (latency at 10 connections).
      const ratePerRound = new Map<Side, number[]>(sides.map((s) => [s, []]));
      for (let round = 0; round < opts.rounds; round += 1) {
        for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
          const request = side.endpoints.endpointRequest(endpoint, side.target);
          const problem = await side.endpoints.checkEndpoint(request);
          if (problem) throw new Error(`${endpoint} ${side.name}: ${problem}`);
          await side.load.runLoad(request, { connections: 10, amount: Math.min(1000, opts.requests), seconds: 5 });
          const before = side.cpuSeconds();
          const outcome = await side.load.runLoad(request, { connections: 10, amount: opts.requests, seconds: 30 });
          failures += outcome.failed;
          perRound.get(side)!.push(((side.cpuSeconds() - before) / Math.max(1, outcome.ok)) * 1e6);
          ratePerRound.get(side)!.push(outcome.perSecond);
        }
      }
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      for (const side of sides) {
        const xs = perRound.get(side)!;
        log(`${endpoint.padEnd(19)} ${side.name.padEnd(10)} ${xs.map((x) => x.toFixed(0).padStart(5)).join(' ').padEnd(42)} ${mean(xs).toFixed(0).padStart(5)}`);
      }
      for (const side of sides) {
        const xs = ratePerRound.get(side)!;
        log(`${endpoint.padEnd(19)} ${side.name.padEnd(10)} req/s: ${xs.map((x) => x.toFixed(0).padStart(5)).join(' ').padEnd(35)} ${mean(xs).toFixed(0).padStart(5)}`);
      }
      log(`${endpoint.padEnd(19)} candidate / baseline: CPU ${(mean(perRound.get(sides[1]!)!) / mean(perRound.get(sides[0]!)!)).toFixed(3)}, req/s ${(mean(ratePerRound.get(sides[1]!)!) / mean(ratePerRound.get(sides[0]!)!)).toFixed(3)}`);
    }
  } finally {
    for (const side of sides) await side.cleanup();
  }
  if (failures) log(`${failures} requests failed`);
  return failures ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
