/**
 * OIDC_UPSTREAMS: a JSON array validated with the rest of the config. Every problem names its field;
 * ids are unique and differ from the built-in methods; production refuses plain http; a configured
 * upstream's id is a login method clients may name, and its timeout bounds the request deadline.
 */
import { loadConfig, ConfigError } from '../../src/config/index.js';
import { knownMethodIds } from '../../src/brokers/registry.js';
import { parseClients } from '../../src/provider/clients-file.js';

const upstream = (extra: Record<string, unknown> = {}) => ({
  id: 'freja',
  issuer: 'https://aggregator.example.test/freja',
  client_id: 'nordlys',
  client_secret: 's'.repeat(32),
  acr: { 'http://id.elegnamnden.se/loa/1.0/loa3': 'substantial' },
  display_name: { sv: 'Freja eID+', en: 'Freja eID+' },
  ...extra,
});

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};
const withUpstreams = (list: unknown[], env: Record<string, string> = {}) => problemsOf({ OIDC_UPSTREAMS: JSON.stringify(list), ...env });

describe('OIDC_UPSTREAMS', () => {
  test('a valid upstream: defaults filled in, and its id becomes a login method', () => {
    const config = loadConfig({ OIDC_UPSTREAMS: JSON.stringify([upstream(), upstream({ id: 'mitid', auth_method: 'client_secret_post', display_name: 'MitID' })]) });
    expect(config.brokers.oidc).toEqual([
      expect.objectContaining({ id: 'freja', authMethod: 'client_secret_basic', scopes: ['openid'], subjectClaim: 'sub', claims: {}, timeoutMs: 10000, origin: 'OIDC_UPSTREAMS[0]' }),
      expect.objectContaining({ id: 'mitid', authMethod: 'client_secret_post', displayName: 'MitID' }),
    ]);
    expect(knownMethodIds(config.brokers)).toEqual(['local', 'idporten', 'bankid-se', 'foreign-eid', 'freja', 'mitid']);
    expect(loadConfig({}).brokers.oidc).toEqual([]);
  });

  test('each problem names its field', () => {
    expect(problemsOf({ OIDC_UPSTREAMS: '[{' })).toEqual([expect.stringMatching(/^OIDC_UPSTREAMS: is not valid JSON/)]);
    expect(withUpstreams([upstream({ issuer: 'not a url', acr: { x: 'medium' }, scopes: ['profile'] })])).toEqual([
      'OIDC_UPSTREAMS[0].issuer: must be an absolute URL',
      'OIDC_UPSTREAMS[0].scopes: must include openid',
      'OIDC_UPSTREAMS[0].acr.x: must be low, substantial or high',
    ]);
    expect(withUpstreams([upstream({ client_secret: undefined })])).toEqual(['OIDC_UPSTREAMS[0].client_secret: is required for auth_method client_secret_basic']);
    expect(withUpstreams([upstream({ auth_method: 'private_key_jwt', client_secret: undefined })])).toEqual(['OIDC_UPSTREAMS[0].private_key: is required for auth_method private_key_jwt']);
    expect(withUpstreams([upstream({ acr: {} })])).toEqual(['OIDC_UPSTREAMS[0].acr: must map at least one upstream acr value to a rank']);
    expect(withUpstreams([upstream({ display_name: {} })])).toEqual([expect.stringMatching(/^OIDC_UPSTREAMS\[0\]\.display_name: /)]);
    expect(withUpstreams([upstream({ clientId: 'typo' })])).toEqual([expect.stringMatching(/^OIDC_UPSTREAMS\[0\]: Unrecognized key.*clientId/)]);
    expect(withUpstreams([upstream({ claims: { email: 'email' } })])).toEqual([expect.stringMatching(/^OIDC_UPSTREAMS\[0\]\.claims: Unrecognized key: "email"/)]);
    expect(withUpstreams([upstream({ id: 'Not An Id' })])).toEqual([expect.stringMatching(/^OIDC_UPSTREAMS\[0\]\.id: must be lower-case letters/)]);
  });

  test('ids are unique, and differ from the built-in methods', () => {
    expect(withUpstreams([upstream(), upstream()])).toEqual(['OIDC_UPSTREAMS[1].id: duplicate id freja']);
    expect(withUpstreams([upstream({ id: 'idporten' })])).toEqual([expect.stringMatching(/^login method id idporten is taken twice/)]);
  });

  test('production talks to an upstream over https only; the request deadline exceeds every upstream timeout', () => {
    const production = {
      NODE_ENV: 'production',
      ISSUER: 'https://id.example.test',
      TRUSTED_PROXIES: '10.0.0.0/8',
      DATABASE_URL: 'postgres://nordlys@db.example.test/nordlys',
      COOKIE_KEYS: 'a'.repeat(32),
      DPOP_NONCE_SECRET: 'ab'.repeat(32),
      PAIRWISE_SALT: 'c'.repeat(32),
      CODE_HMAC_SECRET: 'd'.repeat(32),
      KEY_ENCRYPTION_KEY: 'ef'.repeat(32),
      SMTP_URL: 'smtp://mail.example.test:25',
    };
    expect(withUpstreams([upstream()], production)).toEqual([]);
    expect(withUpstreams([upstream({ issuer: 'http://aggregator.example.test' })], production)).toEqual([expect.stringMatching(/^OIDC_UPSTREAMS\[0\]\.issuer is http:\/\/aggregator\.example\.test: production talks to an OpenID upstream over https/)]);
    expect(withUpstreams([upstream({ timeout_ms: 20000 })], { REQUEST_DEADLINE_MS: '15000' })).toEqual([
      'REQUEST_DEADLINE_MS: must be longer than IDPORTEN_TIMEOUT_MS, BANKID_TIMEOUT_MS and OIDC_UPSTREAMS[0].timeout_ms (20000 ms)',
    ]);
  });

  test('a clients file may name a configured upstream, and nothing unknown', () => {
    const known = knownMethodIds(loadConfig({ OIDC_UPSTREAMS: JSON.stringify([upstream()]) }).brokers);
    const client = (login_methods: string[]) => ({ clients: [{ client_id: 'rp', client_secret: 'x'.repeat(32), redirect_uris: ['https://rp.example/cb'], login_methods }] });
    expect(parseClients(client(['local', 'freja']), 'clients.json', known)[0]!.login_methods).toEqual(['local', 'freja']);
    expect(() => parseClients(client(['local', 'mitid']), 'clients.json', known)).toThrow(/clients\[0\]\.login_methods\[1\]: unknown method mitid \(known: local, idporten, bankid-se, foreign-eid, freja\)/);
  });
});
