/**
 * Configured OpenID upstreams as login methods: one method per entry of OIDC_UPSTREAMS, under its own id,
 * named by its configured display name (per language or one string), with a generic hint and help line
 * unless configured. Its accounts are federated accounts keyed by (its id, subject). Nothing else in the
 * code names one: adding an upstream is configuration only.
 */
import { errorPages } from '../error-pages.js';
import type { Label, MethodModule, RedirectMethod } from '../method.js';
import { upstreamClientOf } from '../openid-rp.js';
import { createOidcBroker } from './broker.js';
import { oidcEnv, oidcRefusals, oidcSettings, type OidcUpstreamSettings } from './config.js';

export const oidcMethod = {
  kind: 'oidc',
  env: oidcEnv,
  settings: oidcSettings,
  ids: (upstreams) => upstreams.map((u) => u.id),
  refusals: oidcRefusals,
  timeouts: (upstreams) => upstreams.map((u) => ({ variable: `${u.origin}.timeout_ms`, ms: u.timeoutMs })),

  open: async (upstreams, deps) =>
    upstreams.map((upstream): RedirectMethod => {
      const broker = createOidcBroker(upstream, { clock: deps.clock, observe: (call, seconds, ok) => deps.observe('oidc', call, seconds, ok) });
      const hint = upstream.hint;
      return {
        id: upstream.id,
        kind: 'oidc',
        capability: 'redirect',
        reachable: broker.reachable,
        displayName: { text: upstream.displayName },
        hint: (): Label => (hint ? { text: hint } : { id: 'method.oidc.hint' }),
        errors: errorPages('broker.help.oidc'),
        ...(upstream.nationalIdClaim ? { nationalIdClaim: upstream.nationalIdClaim } : {}),
        broker,
        upstreamClient: upstreamClientOf(upstream, deps.callbackUrl(upstream.id)),
      };
    }),
} satisfies MethodModule<typeof oidcEnv, OidcUpstreamSettings[]>;
