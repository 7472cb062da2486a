/**
 * How many logins may be started (new interactions at /auth), so nobody can fill the store with them
 * (DESIGN §7). Rules:
 * - only a request that starts a login counts: the check runs in oidc-provider's documented
 *   `interactions.url` hook, called once for each new interaction after the request and its client were
 *   validated, so invalid requests, answers from an existing session and prompt=none never count; nor
 *   does a login resumed at /auth/:uid that goes on to its next prompt (consent after the password);
 * - per IP address (its /64 for IPv6; none for loopback, see countsPerIp in src/policies/throttle.ts)
 *   and per client, each a fixed one-minute window, both counted by one upsert in the database
 *   (src/store/rate-limits.ts), so the limits hold across instances; on PostgreSQL the Interaction the
 *   provider has just saved (kept, deferred-writes.ts) is stored by that same statement;
 * - the client's count keeps only requests the IP limit let through (a refused one is taken back), so
 *   one address's flood cannot use up a client's allowance for everybody else;
 * - over a limit, the interaction just stored is deleted again (nothing stays behind) and the user gets
 *   the provider's error page (renderError) with 429, Retry-After and a message in their language; the
 *   relying party is not redirected to: this is the service's trouble, and reloading later is the remedy.
 */
import crypto from 'node:crypto';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { countsPerIp, ipBucket } from '../policies/throttle.js';
import type { RateLimits } from '../store/rate-limits.js';
import { requestIp } from './request-ip.js';

const WINDOW_SECONDS = 60;

export type AdmitInteraction = (ctx: KoaContextWithOIDC, interaction: { destroy(): Promise<void> }) => Promise<void>;

/** The error page's message id, carried on the error for the provider's renderError. */
export const RATE_LIMITED_MESSAGE = 'auth.error.rate_limited';

export function createAuthAdmission(deps: {
  rateLimits: Pick<RateLimits, 'countEachInWindow' | 'uncountInWindow'>;
  perIpMinute: number;
  perClientMinute: number;
}): AdmitInteraction {
  // Client ids are free text of any length; the key column is not.
  const clientKey = (clientId: string) =>
    `auth:client:${clientId.length <= 100 ? clientId : crypto.createHash('sha256').update(clientId).digest('base64url')}`;

  return async (ctx, interaction) => {
    if (ctx.oidc.route === 'resume') return;
    const ip = requestIp(ctx);
    const ipKey = countsPerIp(ip) ? `auth:ip:${ipBucket(ip)}` : undefined;
    const clientId = ctx.oidc.client?.clientId;
    const keys = [...(ipKey ? [ipKey] : []), ...(clientId ? [clientKey(clientId)] : [])];
    if (!keys.length) return;
    const counts = await deps.rateLimits.countEachInWindow(keys, WINDOW_SECONDS);
    const byIp = ipKey ? counts[0] : undefined;
    const byClient = clientId ? counts.at(-1) : undefined;
    let retryAfterSeconds: number | undefined;
    if (byIp && byIp.hits > deps.perIpMinute) {
      retryAfterSeconds = byIp.retryAfterSeconds;
      if (clientId) await deps.rateLimits.uncountInWindow(clientKey(clientId));
    } else if (byClient && byClient.hits > deps.perClientMinute) {
      retryAfterSeconds = byClient.retryAfterSeconds;
    }
    if (retryAfterSeconds === undefined) return;

    await interaction.destroy();
    ctx.set('Retry-After', String(retryAfterSeconds));
    const refused = new errors.TemporarilyUnavailable('too many logins have been started; try again shortly');
    // Instance fields the provider's error handler reads: the status, and "show a page, do not redirect".
    Object.assign(refused, { status: 429, statusCode: 429, allow_redirect: false, messageId: RATE_LIMITED_MESSAGE });
    throw refused;
  };
}
