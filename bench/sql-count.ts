/**
 * SQL statements per login and per API request, counted on the wire (bench/pg-statements.ts) in front
 * of a server of its own (its statements are not mixed with another server's, and the proxy does not
 * slow the throughput runs). Logins run one at a time; after each, the count waits until the server has
 * been quiet for a moment (the audit trail is written just after the answer), bounded in time. The
 * background timers that would add statements (sweeps, key reload, back-channel outbox) are set far
 * apart; the session sweep runs at most every 60 s, so a median is reported over several logins. The
 * client-version poll (every 5 s) can still fall into one request's window, so each endpoint is asked
 * REQUEST_TRIES times and the fewest statements are reported (a timer only ever adds).
 */
import * as oidc from 'openid-client';
import { ENDPOINTS, endpointRequest, type Endpoint } from './endpoints.js';
import { discoverClient, login, passwordAndConsent, type LoginTarget } from './login-flow.js';
import { startStatementCounter, type StatementCounter } from './pg-statements.js';
import { ACCOUNT, CLIENT_ID, REDIRECT_URI, startFixture } from './server.js';

const QUIET_MS = 250;
const QUIET_CAP_MS = 3000;
const REQUEST_TRIES = 3;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until no statement has been sent for QUIET_MS (at most QUIET_CAP_MS); returns the count then. */
async function settled(counter: StatementCounter): Promise<number> {
  const start = performance.now();
  let last = counter.count();
  while (performance.now() - start < QUIET_CAP_MS) {
    await sleep(QUIET_MS);
    const now = counter.count();
    if (now === last) return now;
    last = now;
  }
  return last;
}

export interface SqlCounts {
  perLogin: number[];
  perRequest: Partial<Record<Endpoint, number>>;
}

export async function countStatements(databaseUrl: string, logins: number, env: Record<string, string>): Promise<SqlCounts> {
  const counter = await startStatementCounter(databaseUrl);
  const quiet = { SWEEP_INTERVAL_SECONDS: '86400', SESSION_SWEEP_INTERVAL_SECONDS: '60', KEY_REFRESH_SECONDS: '86400', BACKCHANNEL_OUTBOX_INTERVAL_SECONDS: '3600' };
  const fx = await startFixture(databaseUrl, 30_000, { ...env, ...quiet, WORKERS: '1' }, { serverDatabaseUrl: counter.url });
  try {
    const config = await discoverClient(fx.url, CLIENT_ID, fx.clientSecret);
    const target: LoginTarget = { url: fx.url, config, redirectUri: REDIRECT_URI, interact: passwordAndConsent(ACCOUNT), accountId: fx.accountId };
    let tokens: oidc.TokenEndpointResponse = await login(target); // the first login fills the pool and the caches
    const perLogin: number[] = [];
    for (let i = 0; i < logins; i += 1) {
      const before = await settled(counter);
      tokens = await login(target);
      perLogin.push((await settled(counter)) - before);
    }
    const perRequest: Partial<Record<Endpoint, number>> = {};
    const metadata = config.serverMetadata();
    for (const endpoint of ENDPOINTS) {
      const request = endpointRequest(endpoint, { url: fx.url, metadata, clientId: CLIENT_ID, clientSecret: fx.clientSecret, accessToken: tokens.access_token, refreshToken: tokens.refresh_token });
      for (let i = 0; i < REQUEST_TRIES; i += 1) {
        const before = await settled(counter);
        const res = await fetch(request.url, { method: request.method ?? 'GET', headers: request.headers, body: request.body, signal: AbortSignal.timeout(30_000) });
        await res.arrayBuffer();
        if (res.status !== 200) continue;
        const n = (await settled(counter)) - before;
        perRequest[endpoint] = Math.min(perRequest[endpoint] ?? n, n);
      }
    }
    return { perLogin, perRequest };
  } finally {
    await fx.cleanup();
    await counter.close();
  }
}
