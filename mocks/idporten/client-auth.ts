/**
 * ID-porten demands that a client authenticates the way it is registered; oidc-provider takes a client
 * secret by either Basic or the body, whichever of the two was registered. A pre-middleware (provider.use,
 * matching `ctx.path` as oidc-provider's documentation describes) on the token, revocation and PAR
 * endpoints compares the request's mechanism with the client's registered `token_endpoint_auth_method`
 * (provider.Client.find) and answers a mismatch as oidc-provider would (401 invalid_client) before any
 * code or token is looked at. Rules:
 * - a Basic Authorization header: its client must not be registered for client_secret_post;
 * - `client_secret` in the form body: the client it names must not be registered for client_secret_basic;
 * - only without an Authorization header is the body read here; it is then left, unparsed, in
 *   `ctx.request.body`, where oidc-provider takes an already-read body from (its console says so once);
 * - whatever this middleware cannot read or decode is left to oidc-provider's own checks.
 */
import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { MockLogger } from '../shared/deps.js';
import { readBody } from '../shared/body.js';

type SecretMethod = 'client_secret_basic' | 'client_secret_post';

/** oidc-provider's own limit for these bodies. */
const MAX_BODY_BYTES = 56 * 1024;

const decodeCredential = (text: string) => decodeURIComponent(text.replace(/\+/g, '%20'));

async function presented(ctx: Context): Promise<{ clientId: string; method: SecretMethod } | undefined> {
  const basic = /^basic\s+([A-Za-z0-9+/=]+)$/i.exec(ctx.get('authorization'));
  if (basic) {
    const credentials = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = credentials.indexOf(':');
    return colon > 0 ? { clientId: decodeCredential(credentials.slice(0, colon)), method: 'client_secret_basic' } : undefined;
  }
  if (ctx.get('authorization') || !ctx.is('application/x-www-form-urlencoded')) return undefined;
  const raw = await readBody(ctx.req, MAX_BODY_BYTES);
  if (!raw) return undefined;
  (ctx.request as { body?: unknown }).body = raw.toString('utf8');
  const form = new URLSearchParams(raw.toString('utf8'));
  const clientId = form.get('client_id');
  return form.has('client_secret') && clientId ? { clientId, method: 'client_secret_post' } : undefined;
}

export function registeredSecretMethod(provider: Provider, paths: readonly string[], logger: MockLogger): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || !paths.includes(ctx.path)) return next();
    let used: Awaited<ReturnType<typeof presented>>;
    try {
      used = await presented(ctx);
    } catch {
      used = undefined; // an undecodable credential: oidc-provider refuses it in its own words
    }
    const client = used ? await provider.Client.find(used.clientId) : undefined;
    const registered = client?.metadata().token_endpoint_auth_method;
    if (!used || (registered !== 'client_secret_basic' && registered !== 'client_secret_post') || registered === used.method) return next();
    logger.info({ client: used.clientId, registered, used: used.method }, 'idporten mock refused a client that did not authenticate as registered');
    ctx.status = 401;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { error: 'invalid_client', error_description: 'client authentication failed' };
  };
}
