/**
 * ID-porten as a login method: its names and hints, the level page that names the eID used (UDI's
 * "requires security level 4 … MinID, which has security level 3"), Digdir as the help for outages,
 * and its `pid` released as `pid`. Rules: the hint says whether MinID can be used (only below high);
 * without a configured client secret (and not private_key_jwt) a development secret is kept in the
 * store, for the built-in mock.
 */
import { errorPages } from '../error-pages.js';
import type { MethodModule, RedirectMethod } from '../method.js';
import type { LevelDetail } from '../types.js';
import { upstreamClientOf } from '../openid-rp.js';
import { createIdportenBroker, IDPORTEN } from './broker.js';
import { idportenEnv, idportenRefusals, idportenSettings, type IdportenSettings } from './config.js';

/** The Norwegian security levels ("sikkerhetsnivå") ID-porten's pages speak of. */
const LEVEL_NAMES: Readonly<Record<string, string>> = { low: '2', substantial: '3', high: '4' };

/** The eID a person used, from ID-porten's amr values, for the "level too low" page. */
function eidName(amr: string[] = []): string {
  const first = amr[0] ?? '';
  if (first.startsWith('Minid')) return 'MinID';
  if (first === 'BankID Mobil') return 'BankID på mobil';
  return first || 'ID-porten';
}

const levelParams = (detail: LevelDetail | undefined): Record<string, string> => ({
  required: LEVEL_NAMES[detail?.required ?? ''] ?? '',
  reached: LEVEL_NAMES[detail?.reached ?? ''] ?? '',
  eid: eidName(detail?.amr),
});

export const idportenMethod = {
  kind: 'idporten',
  env: idportenEnv,
  settings: idportenSettings,
  ids: () => [IDPORTEN],
  refusals: idportenRefusals,
  timeouts: (s) => [{ variable: 'IDPORTEN_TIMEOUT_MS', ms: s.timeoutMs }],
  standIn: (s) => (s.usesMock && s.issuer ? { mock: 'idporten', url: s.issuer } : undefined),

  async open(s, deps) {
    if (!s.issuer) return [];
    const clientSecret = s.clientSecret ?? (s.authMethod === 'private_key_jwt' ? undefined : await deps.storedSecret('IDPORTEN_CLIENT_SECRET'));
    const settings = { ...s, issuer: s.issuer, clientSecret };
    const broker = createIdportenBroker({ ...settings, clock: deps.clock, observe: (call, seconds, ok) => deps.observe('idporten', call, seconds, ok) });
    const method: RedirectMethod = {
      id: IDPORTEN,
      kind: 'idporten',
      capability: 'redirect',
      reachable: broker.reachable,
      displayName: { id: 'method.idporten' },
      hint: (floor) => ({ id: floor === 'high' ? 'method.idporten.hint_high' : 'method.idporten.hint_substantial' }),
      errors: errorPages('broker.help.idporten', {
        insufficient_level: { view: 'broker-error.njk', status: 200, titleId: 'broker.level.title', messageId: 'broker.level.message', hintId: 'broker.level.hint', refusal: 'level_too_low' },
      }),
      errorParams: levelParams,
      nationalIdClaim: 'pid',
      broker,
      upstreamClient: upstreamClientOf(settings, deps.callbackUrl(IDPORTEN)),
    };
    return [method];
  },
} satisfies MethodModule<typeof idportenEnv, IdportenSettings>;
