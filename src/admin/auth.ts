/**
 * Who may call the admin API: a bearer access token this provider issued by client credentials to a client
 * registered with the `nordlys:admin` scope. Rules:
 * - no token: 401 with `WWW-Authenticate: Bearer realm="nordlys-admin"`; an unknown, expired or non-client-
 *   credentials token: 401 with error="invalid_token" (RFC 6750 §3);
 * - a token without the scope, or whose client is gone or no longer registered with the scope (a client
 *   without `scope` metadata may be granted any supported scope by oidc-provider, so the registration is
 *   checked too): 403 with error="insufficient_scope";
 * - expiry is checked against the injected clock as well as by oidc-provider (wall clock);
 * - each admin client is rate-limited in a fixed one-minute window in the shared rate_limits table: 429
 *   with Retry-After.
 */
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Clock } from '../clock.js';
import type { RateLimits } from '../store/rate-limits.js';
import { ADMIN_SCOPE } from '../policies/admin-scope.js';
import { sendProblem } from './problem.js';

export interface AdminAuthDeps {
  getProvider: () => Provider;
  clock: Clock;
  rateLimits: RateLimits;
  perMinute: number;
}

const REALM = 'Bearer realm="nordlys-admin"';

function refuse(ctx: Context, status: 401 | 403, error: string | undefined, detail: string): undefined {
  ctx.set('WWW-Authenticate', error ? `${REALM}, error="${error}", error_description="${detail}"${status === 403 ? `, scope="${ADMIN_SCOPE}"` : ''}` : REALM);
  sendProblem(ctx, status, status === 401 ? 'unauthorized' : 'forbidden', status === 401 ? 'Unauthorized' : 'Forbidden', detail);
  return undefined;
}

/** The admin client's id when the request may proceed; otherwise the answer is written and undefined returned. */
export async function authenticateAdmin(ctx: Context, deps: AdminAuthDeps): Promise<string | undefined> {
  const header = ctx.get('authorization');
  const match = /^Bearer ([\x21-\x7e]+)$/i.exec(header);
  if (!header) return refuse(ctx, 401, undefined, 'an access token with the nordlys:admin scope is required');
  if (!match) return refuse(ctx, 401, 'invalid_request', 'the Authorization header must be Bearer <access token>');
  const provider = deps.getProvider();
  const token = await provider.ClientCredentials.find(match[1]!);
  if (!token || !token.clientId || (token.exp ?? 0) * 1000 <= deps.clock.now()) {
    return refuse(ctx, 401, 'invalid_token', 'the access token is unknown or expired');
  }
  const scopes = new Set((token.scope ?? '').split(' '));
  const client = await provider.Client.find(token.clientId);
  const registered = new Set((client?.scope ?? '').split(' '));
  if (!scopes.has(ADMIN_SCOPE) || !registered.has(ADMIN_SCOPE)) {
    return refuse(ctx, 403, 'insufficient_scope', 'the access token lacks the nordlys:admin scope');
  }
  const count = await deps.rateLimits.countInWindow(`admin-api:${token.clientId}`, 60);
  if (count.hits > deps.perMinute) {
    ctx.set('Retry-After', String(count.retryAfterSeconds));
    sendProblem(ctx, 429, 'rate-limited', 'Too Many Requests', `at most ${deps.perMinute} requests a minute per admin client`);
    return undefined;
  }
  return token.clientId;
}
