/**
 * A broker for any OpenID Provider, configured entirely from OIDC_UPSTREAMS (config.ts): a relying party
 * through the shared RP (../openid-rp.ts: discovery, PKCE S256, state, nonce, id_token validation,
 * freshness). Rules:
 * - it reaches the ranks its `acr` map names; it asks upstream for the values that meet the login's
 *   floor (lowest first) and still checks the `acr` it gets: unknown or missing is `invalid_response`,
 *   too low is `insufficient_level`;
 * - the subject is the configured claim, which must be a non-empty string; with (id, subject) it keys
 *   its own federated account, never merged with another;
 * - only the configured claims are released, under our names.
 */
import { BrokerError, type RedirectBroker, type UpstreamIdentity } from '../types.js';
import { rankValue, satisfies, type Rank } from '../../policies/loa.js';
import type { Clock } from '../../clock.js';
import { createOpenIdRp } from '../openid-rp.js';
import type { OidcUpstreamSettings } from './config.js';

export interface OidcBrokerDeps {
  clock: Clock;
  observe?: ((call: string, seconds: number, ok: boolean) => void) | undefined;
}

/** The ranks an upstream's acr map reaches, lowest first. */
export function reachOf(acr: Readonly<Record<string, Rank>>): Rank[] {
  return [...new Set(Object.values(acr))].sort((a, b) => rankValue(a) - rankValue(b));
}

export function createOidcBroker(upstream: OidcUpstreamSettings, deps: OidcBrokerDeps): RedirectBroker {
  const { id } = upstream;
  const rp = createOpenIdRp({ ...upstream, broker: id, upstreamName: `the OpenID upstream ${id}`, clock: deps.clock, observe: deps.observe });
  const acrValues = Object.entries(upstream.acr).sort(([, a], [, b]) => rankValue(a) - rankValue(b));

  return {
    id,
    capability: 'redirect',
    reachable: reachOf(upstream.acr),

    begin(requirement, callbackUrl) {
      const meeting = acrValues.filter(([, rank]) => satisfies(rank, requirement.minimum)).map(([value]) => value);
      return rp.begin(requirement, callbackUrl, {
        scope: upstream.scopes.join(' '),
        ...(meeting.length ? { acr_values: meeting.join(' ') } : {}),
        ui_locales: requirement.locale,
      });
    },

    async complete(callbackUrl, state, requirement): Promise<UpstreamIdentity> {
      const claims = await rp.complete(callbackUrl, state);
      const level = rp.level(claims, requirement, (acr) => (Object.hasOwn(upstream.acr, acr) ? upstream.acr[acr] : undefined));
      const subject = claims[upstream.subjectClaim];
      if (typeof subject !== 'string' || subject === '') throw new BrokerError(id, 'invalid_response', `the id_token has no ${upstream.subjectClaim}`);
      const released = Object.entries(upstream.claims).flatMap(([ours, theirs]) => (typeof claims[theirs] === 'string' && claims[theirs] !== '' ? [[ours, claims[theirs]]] : []));
      return {
        broker: id,
        subject,
        ...level,
        ...rp.freshAuthTime(requirement, claims, state),
        claims: Object.fromEntries(released) as UpstreamIdentity['claims'],
      };
    },
  } satisfies RedirectBroker;
}
