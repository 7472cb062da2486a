/** Levels of assurance and client policies: pure rules, table-driven. */
import { formatAcr, lookupAcr, parseAcrValues, RANKS, satisfies, SUPPORTED_ACR_VALUES, VOCABULARIES, type Rank } from '../../src/policies/loa.js';
import { clientPolicy as policyOf, offeredMethods as offeredOf, requestDemand, sessionSatisfies, validateClientPolicy, type ClientPolicy, type ClientPolicyMetadata, type RequestDemand } from '../../src/policies/client-policy.js';
import { BUILT_IN } from '../support/methods.js';

const clientPolicy = (meta: ClientPolicyMetadata) => policyOf(meta, BUILT_IN);
const offeredMethods = (policy: ClientPolicy, demand: RequestDemand) => offeredOf(policy, demand, BUILT_IN);

describe('acr vocabularies', () => {
  test.each([
    ['low', 'low', 'eidas'],
    ['substantial', 'substantial', 'eidas'],
    ['high', 'high', 'eidas'],
    ['level3', 'substantial', 'legacy-lower'],
    ['Level3', 'substantial', 'legacy-upper'],
    ['level4', 'high', 'legacy-lower'],
    ['Level4', 'high', 'legacy-upper'],
    ['idporten-loa-substantial', 'substantial', 'idporten'],
    ['idporten-loa-high', 'high', 'idporten'],
    ['http://id.elegnamnden.se/loa/1.0/loa3', 'substantial', 'swedish'],
    ['http://id.elegnamnden.se/loa/1.0/loa4', 'high', 'swedish'],
  ])('%s means %s in the %s vocabulary, and (certified) writes back the same', (value, rank, vocabulary) => {
    expect(parseAcrValues(value)).toEqual({ minimum: rank, vocabulary });
    expect(formatAcr(rank as Rank, vocabulary as never, { swedenConnectCertified: true })).toBe(value);
  });

  // A session's acr is kept in the words of the last request that used it (src/provider/loa-checks.ts):
  // whatever we write must read back as the rank it was written for.
  test.each(VOCABULARIES.flatMap((vocabulary) => [false, true].map((certified) => [vocabulary, certified] as const)))(
    'every rank written in the %s vocabulary (certified: %s) reads back as that rank',
    (vocabulary, certified) => {
      for (const rank of RANKS) expect(lookupAcr(formatAcr(rank, vocabulary, { swedenConnectCertified: certified }))?.rank).toBe(rank);
    },
  );

  test('not certified by Sweden Connect: the Swedish vocabulary says uncertified, and eIDAS high stands in for loa4', () => {
    expect(parseAcrValues('http://id.swedenconnect.se/loa/1.0/uncertified-loa3')).toEqual({ minimum: 'substantial', vocabulary: 'swedish' });
    expect(formatAcr('substantial', 'swedish')).toBe('http://id.swedenconnect.se/loa/1.0/uncertified-loa3');
    expect(formatAcr('low', 'swedish')).toBe('http://id.swedenconnect.se/loa/1.0/uncertified-loa2');
    expect(formatAcr('high', 'swedish')).toBe('high');
    expect(SUPPORTED_ACR_VALUES.filter((v) => v.includes('elegnamnden'))).toEqual([]);
  });

  test('unknown values are ignored; several values demand the lowest; the first known sets the vocabulary', () => {
    expect(parseAcrValues('1 2')).toEqual({ minimum: undefined, vocabulary: undefined });
    expect(parseAcrValues('urn:x Level4 substantial')).toEqual({ minimum: 'substantial', vocabulary: 'legacy-upper' });
    expect(parseAcrValues(undefined)).toEqual({ minimum: undefined, vocabulary: undefined });
  });

  test('legacy levels have no low: eIDAS low stands in', () => {
    expect(formatAcr('low', 'legacy-upper')).toBe('low');
  });

  test('a higher rank satisfies a lower one, never the reverse', () => {
    expect(satisfies('high', 'substantial')).toBe(true);
    expect(satisfies('substantial', 'substantial')).toBe(true);
    expect(satisfies('substantial', 'high')).toBe(false);
    expect(satisfies('low', 'substantial')).toBe(false);
  });

  test('discovery lists every vocabulary', () => {
    expect(SUPPORTED_ACR_VALUES).toEqual(expect.arrayContaining(['low', 'substantial', 'high', 'level3', 'Level4', 'idporten-loa-high']));
  });
});

describe('request demands', () => {
  test('an essential acr claim is a minimum too, read from the raw claims parameter', () => {
    const claims = JSON.stringify({ id_token: { acr: { essential: true, values: ['idporten-loa-high'] } } });
    expect(requestDemand({ claims })).toEqual({ minimum: 'high', vocabulary: 'idporten' });
    expect(requestDemand({ claims, acr_values: 'substantial' })).toEqual({ minimum: 'high', vocabulary: 'eidas' });
    const voluntary = JSON.stringify({ id_token: { acr: { values: ['high'] } } });
    expect(requestDemand({ claims: voluntary })).toEqual({ minimum: undefined, vocabulary: undefined });
    expect(requestDemand({ claims: '{not json' })).toEqual({ minimum: undefined, vocabulary: undefined });
  });
});

describe('client policies', () => {
  const udi = clientPolicy({ login_methods: ['local', 'idporten', 'foreign-eid'], method_min_acr: { idporten: 'high' } });

  test('defaults: e-mail accounts only, any level, eIDAS vocabulary, no national id', () => {
    expect(clientPolicy({})).toEqual({ methods: ['local'], minimum: 'low', methodMinimum: {}, vocabulary: 'eidas', releaseNationalId: false });
  });

  test.each([
    [undefined, ['local:low', 'idporten:high', 'foreign-eid:low'], true],
    ['substantial', ['idporten:high', 'foreign-eid:substantial'], true],
    ['Level4', ['idporten:high', 'foreign-eid:high'], true],
  ])('UDI offers, for acr_values=%s: %j', (acr, expected, reachable) => {
    const { offered, reachable: can } = offeredMethods(udi, requestDemand({ acr_values: acr }));
    expect(offered.map((o) => `${o.method}:${o.floor}`)).toEqual(expected);
    expect(can).toBe(reachable);
  });

  test('nothing reachable when only e-mail accounts are allowed and substantial is asked', () => {
    expect(offeredMethods(clientPolicy({}), requestDemand({ acr_values: 'substantial' })).reachable).toBe(false);
    expect(offeredMethods(clientPolicy({ login_methods: ['foreign-eid'] }), requestDemand({})).reachable).toBe(false);
  });

  test('a session satisfies only a method the client offers, at that method’s floor (step-up otherwise)', () => {
    expect(sessionSatisfies(udi, requestDemand({}), { method: 'local', rank: 'low' })).toBe(true);
    expect(sessionSatisfies(udi, requestDemand({ acr_values: 'high' }), { method: 'local', rank: 'low' })).toBe(false);
    expect(sessionSatisfies(udi, requestDemand({}), { method: 'idporten', rank: 'substantial' })).toBe(false);
    expect(sessionSatisfies(udi, requestDemand({}), { method: 'idporten', rank: 'high' })).toBe(true);
    expect(sessionSatisfies(clientPolicy({}), requestDemand({}), { method: 'idporten', rank: 'high' })).toBe(false);
  });

  test('bad policy fields are named', () => {
    expect(validateClientPolicy({ login_methods: ['local', 'bankid-no'], min_acr: 'medium', method_min_acr: { idporten: 'top' }, acr_vocabulary: 'x' }, BUILT_IN.known)).toEqual([
      'login_methods[1]: unknown method bankid-no (known: local, idporten, bankid-se, foreign-eid)',
      'min_acr: must be low, substantial or high',
      'method_min_acr.idporten: must be low, substantial or high',
      'acr_vocabulary: must be one of eidas, idporten, legacy-lower, legacy-upper, swedish',
    ]);
  });
});
