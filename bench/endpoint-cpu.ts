/**
 * Server CPU time per API request, ours against the bare oidc-provider: `npm run build && node
 * dist/bench/endpoint-cpu.js [--requests 5000] [--connections 10] [--seconds 15] [--rounds 2]`.
 *
 * Throughput on a shared 2-core machine moves with whatever else runs; the CPU the server process spent
 * per answered request (read from /proc before and after a run) moves much less, so it is the figure to
 * compare before and after a change. Both servers as in the suite (ours on PostgreSQL at LOG_LEVEL=info);
 * each endpoint is warmed up, then run `--rounds` times per side, alternating. Every loop is bounded by
 * count and time. `--only userinfo,JWKS` runs those endpoints; `--cpu-prof-dir DIR` has our server write a
 * CPU profile there when it stops. Caveat: the load generator shares the machine, so req/s is printed for reference only.
 */
import { parseArgs } from 'node:util';
import { startBareProvider } from './bare-fixture.js';
import { checkEndpoint, endpointRequest, ENDPOINTS, type EndpointTarget } from './endpoints.js';
import { runLoad } from './http-load.js';
import { developmentPages, discoverClient, login, passwordAndConsent } from './login-flow.js';
import { ACCOUNT, CLIENT_ID, REDIRECT_URI, procCpuSeconds, startFixture } from './server.js';
import { withNodeFlags } from '../src/config/operations.js';

function options() {
  const { values } = parseArgs({
    options: { 'database-url': { type: 'string' }, requests: { type: 'string' }, connections: { type: 'string' }, seconds: { type: 'string' }, rounds: { type: 'string' }, only: { type: 'string' }, 'cpu-prof-dir': { type: 'string' } },
  });
  const int = (name: string, raw: string | undefined, fallback: number) => {
    const n = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${raw}`);
    return n;
  };
  return {
    databaseUrl: values['database-url'] ?? process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    requests: int('requests', values.requests, 5000),
    connections: int('connections', values.connections, 10),
    seconds: int('seconds', values.seconds, 15),
    rounds: int('rounds', values.rounds, 2),
    only: values.only ? values.only.split(',') : undefined,
    cpuProfDir: values['cpu-prof-dir'],
  };
}

const log = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  const opts = options();
  const bare = await startBareProvider(30_000);
  const fx = await startFixture(opts.databaseUrl, 60_000, {
    LOG_LEVEL: 'info',
    AUTH_NEW_INTERACTIONS_PER_IP_MINUTE: '1000000',
    // Added to the recommended flags, not in their place: a profile of a server without them would show costs production does not have.
    ...(opts.cpuProfDir ? { NODE_OPTIONS: withNodeFlags(`${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${opts.cpuProfDir}`) } : {}),
  });
  let failures = 0;
  try {
    const ours = await discoverClient(fx.url, CLIENT_ID, fx.clientSecret);
    const theirs = await discoverClient(bare.url, CLIENT_ID, bare.clientSecret);
    const ourTokens = await login({ url: fx.url, config: ours, redirectUri: REDIRECT_URI, interact: passwordAndConsent(ACCOUNT), accountId: fx.accountId });
    const bareTokens = await login({ url: bare.url, config: theirs, redirectUri: REDIRECT_URI, interact: developmentPages(bare.accountId), accountId: bare.accountId });
    const sides = {
      ours: { cpu: () => fx.cpuSeconds() ?? NaN, target: { url: fx.url, metadata: ours.serverMetadata(), clientId: CLIENT_ID, clientSecret: fx.clientSecret, accessToken: ourTokens.access_token, refreshToken: ourTokens.refresh_token } },
      bare: { cpu: () => procCpuSeconds(bare.server.pid) ?? NaN, target: { url: bare.url, metadata: theirs.serverMetadata(), clientId: CLIENT_ID, clientSecret: bare.clientSecret, accessToken: bareTokens.access_token, refreshToken: bareTokens.refresh_token } },
    } satisfies Record<string, { cpu: () => number; target: EndpointTarget }>;
    log('endpoint            side  CPU µs/request  req/s');
    for (const endpoint of ENDPOINTS) {
      if (opts.only && !opts.only.includes(endpoint)) continue;
      const perRequest: Record<'ours' | 'bare', number[]> = { ours: [], bare: [] };
      for (let round = 0; round < opts.rounds; round += 1) {
        for (const side of round % 2 === 0 ? (['ours', 'bare'] as const) : (['bare', 'ours'] as const)) {
          const request = endpointRequest(endpoint, sides[side].target);
          const problem = await checkEndpoint(request);
          if (problem) throw new Error(`${endpoint} ${side}: ${problem}`);
          await runLoad(request, { connections: opts.connections, amount: Math.min(1000, opts.requests), seconds: 5 });
          const cpu0 = sides[side].cpu();
          const outcome = await runLoad(request, { connections: opts.connections, amount: opts.requests, seconds: opts.seconds });
          const us = ((sides[side].cpu() - cpu0) / Math.max(1, outcome.ok)) * 1e6;
          failures += outcome.failed;
          perRequest[side].push(us);
          log(`${endpoint.padEnd(19)} ${side}  ${us.toFixed(0).padStart(14)}  ${outcome.perSecond.toFixed(0)}`);
        }
      }
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      log(`${endpoint.padEnd(19)} bare/ours CPU ratio: ${(mean(perRequest.bare) / mean(perRequest.ours)).toFixed(2)}`);
    }
  } finally {
    await fx.cleanup();
    await bare.cleanup();
  }
  return failures ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
