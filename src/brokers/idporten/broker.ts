/**
 * The ID-porten broker: an OpenID Connect relying party (../openid-rp.ts) of ID-porten or of our mock.
 * Rules (reference/ID-PORTEN.md): the required level goes upstream as ID-porten's `acr_values` (it has
 * no `low`: substantial is the least it is asked for) and is still checked on the id_token (a lower
 * `acr` is refused as `insufficient_level`); the account key is the `pid`, which must pass the
 * fødselsnummer/D-number check; ID-porten speaks nb and en to our people (sv and uk get en); the rest
 * (discovery, PKCE, nonce, signature, freshness, timeouts, client authentication) is the shared RP's.
 */
import { BrokerError, type RedirectBroker, type UpstreamIdentity } from '../types.js';
import { formatAcr, lookupAcr } from '../../policies/loa.js';
import { parseNorwegianId } from '../../policies/national-id.js';
import { systemClock, type Clock } from '../../clock.js';
import { createOpenIdRp, type OpenIdRpConfig } from '../openid-rp.js';

/** The shared RP's settings; the clock defaults to the system's. */
export type IdportenBrokerConfig = Omit<OpenIdRpConfig, 'broker' | 'upstreamName' | 'clock'> & { clock?: Clock };

export const IDPORTEN = 'idporten';
const NAME = 'ID-porten';
/** ID-porten speaks nb, nn, en and se (Northern Sami); our Swedish and Ukrainian users get English. */
const UPSTREAM_LOCALE: Record<string, string> = { nb: 'nb', en: 'en', sv: 'en', uk: 'en' };

export function createIdportenBroker(config: IdportenBrokerConfig): RedirectBroker {
  const rp = createOpenIdRp({ ...config, broker: IDPORTEN, upstreamName: NAME, clock: config.clock ?? systemClock });
  return {
    id: IDPORTEN,
    capability: 'redirect',
    reachable: ['substantial', 'high'],

    begin: (requirement, callbackUrl) =>
      rp.begin(requirement, callbackUrl, {
        scope: 'openid profile',
        acr_values: formatAcr(requirement.minimum === 'low' ? 'substantial' : requirement.minimum, 'idporten'),
        ui_locales: UPSTREAM_LOCALE[requirement.locale] ?? 'en',
      }),

    async complete(callbackUrl, state, requirement): Promise<UpstreamIdentity> {
      const claims = await rp.complete(callbackUrl, state);
      const level = rp.level(claims, requirement, (acr) => lookupAcr(acr)?.rank);
      const pid = typeof claims.pid === 'string' ? parseNorwegianId(claims.pid) : undefined;
      if (!pid) throw new BrokerError(IDPORTEN, 'invalid_response', 'the id_token has no valid pid');
      return {
        broker: IDPORTEN,
        subject: pid.number,
        ...level,
        ...rp.freshAuthTime(requirement, claims, state),
        claims: {
          national_id: pid.number,
          ...(pid.birthdate ? { birthdate: pid.birthdate } : {}),
          ...(typeof claims.locale === 'string' ? { locale: claims.locale } : {}),
          ...(typeof claims.name === 'string' ? { name: claims.name } : {}),
        },
      };
    },
  } satisfies RedirectBroker;
}
