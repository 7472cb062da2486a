/**
 * Whether the request being served is one at which a client authenticates (oidc-provider's documented
 * `Provider.ctx` and its `ctx.oidc.route`): the token, introspection, revocation, pushed authorization,
 * CIBA and device authorization endpoints. The client cache confirms itself for these (src/store/client-cache.ts),
 * so a client deleted or re-keyed on another instance is refused there at once.
 */
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';

const AUTHENTICATING_ROUTES = new Set(['token', 'introspection', 'revocation', 'pushed_authorization_request', 'backchannel_authentication', 'device_authorization']);

export function authenticatingRequest(): KoaContextWithOIDC | undefined {
  const ctx = Provider.ctx;
  return ctx && AUTHENTICATING_ROUTES.has(ctx.oidc.route) ? ctx : undefined;
}
