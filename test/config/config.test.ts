/**
 * The validated config object: defaults, named errors, and production's refusal of development-only
 * settings, one line per problem naming the variable and what to set instead.
 */
import path from 'node:path';
import { loadConfig, developmentDefaults, productionRefusals, productionWarnings, ConfigError } from '../../src/config/index.js';

const productionEnv = {
  NODE_ENV: 'production',
  ISSUER: 'https://id.example.test',
  TRUSTED_PROXIES: '10.0.0.0/8',
  DATABASE_URL: 'postgres://nordlys@db.example.test/nordlys',
  COOKIE_KEYS: 'a'.repeat(32) + ',' + 'b'.repeat(32),
  DPOP_NONCE_SECRET: 'ab'.repeat(32),
  PAIRWISE_SALT: 'c'.repeat(32),
  CODE_HMAC_SECRET: 'd'.repeat(32),
  KEY_ENCRYPTION_KEY: 'ef'.repeat(32),
  SMTP_URL: 'smtp://mail.example.test:25',
};

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('config', () => {
  test('development defaults: port 3000, localhost issuer, SQLite in ./data, mocks on, no proxy believed', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.issuer).toBe('http://localhost:3000');
    expect(c.databaseUrl).toBeUndefined();
    expect(c.dataDir).toMatch(/\/data$/);
    expect(c.deployment.sqliteFile).toBe(path.join(c.dataDir, 'nordlys.sqlite'));
    expect(c.deployment.trustedProxies).toEqual([]);
    expect(c.mocksEnabled).toBe(true);
    expect(developmentDefaults(c).length).toBeGreaterThan(0);
  });

  test('a bad value is named by its variable', () => {
    expect(problemsOf({ PORT: 'abc' })).toEqual([expect.stringMatching(/^PORT: /)]);
    expect(problemsOf({ DATABASE_URL: 'mysql://x' })).toEqual([expect.stringMatching(/^DATABASE_URL: must be a postgres/)]);
    expect(problemsOf({ DATABASE_URL: 'sqlite://' })).toEqual([expect.stringMatching(/^DATABASE_URL: .*sqlite:\/\/\/path\/to\/file\.sqlite/)]);
    expect(problemsOf({ COOKIE_KEYS: 'short' })[0]).toMatch(/^COOKIE_KEYS\[0\]: each cookie key must be at least 32 characters/);
    expect(problemsOf({ DPOP_NONCE_SECRET: 'xyz' })[0]).toMatch(/^DPOP_NONCE_SECRET: must be 64 hexadecimal/);
  });

  test('TRUSTED_PROXIES: addresses, CIDR ranges of both families and the shorthands, canonical; anything else named', () => {
    const c = loadConfig({ TRUSTED_PROXIES: 'loopback, private 192.0.2.10,10.1.0.0/16 2001:DB8::/32 ::ffff:198.51.100.1' });
    expect(c.deployment.trustedProxies).toEqual(['loopback', 'private', '192.0.2.10', '10.1.0.0/16', '2001:db8::/32', '198.51.100.1']);
    expect(problemsOf({ TRUSTED_PROXIES: 'loopback,10.0.0.0/33,proxy.example,true' })).toEqual([
      'TRUSTED_PROXIES: "10.0.0.0/33" is not an IP address, a CIDR range, loopback or private',
      'TRUSTED_PROXIES: "proxy.example" is not an IP address, a CIDR range, loopback or private',
      'TRUSTED_PROXIES: "true" is not an IP address, a CIDR range, loopback or private',
    ]);
  });

  test('the old boolean TRUST_PROXY is refused with a pointer to TRUSTED_PROXIES, in every mode', () => {
    expect(problemsOf({ TRUST_PROXY: 'true' })).toEqual([expect.stringMatching(/^TRUST_PROXY: is no longer read: list the proxies in TRUSTED_PROXIES/)]);
  });

  test('DATABASE_URL=sqlite:///path is accepted in every mode and names the file', () => {
    for (const NODE_ENV of ['development', 'test']) {
      const c = loadConfig({ NODE_ENV, DATABASE_URL: 'sqlite:///var/lib/nordlys/id.sqlite' });
      expect(c.databaseUrl).toBeUndefined();
      expect(c.deployment.sqliteFile).toBe('/var/lib/nordlys/id.sqlite');
    }
    const prod = loadConfig({ ...productionEnv, DATABASE_URL: 'sqlite:///var/lib/nordlys/id.sqlite' });
    expect(prod.deployment.sqliteFile).toBe('/var/lib/nordlys/id.sqlite');
    expect(productionWarnings(prod)).toEqual(['DATABASE_URL=sqlite:///var/lib/nordlys/id.sqlite: SQLite serves one instance only; use PostgreSQL to run more than one']);
    expect(productionWarnings(loadConfig(productionEnv))).toEqual([]);
  });

  test('production with everything set starts, mocks off by default', () => {
    const c = loadConfig(productionEnv);
    expect(c.mocksEnabled).toBe(false);
    expect(productionRefusals(c)).toEqual([]);
  });

  test.each([
    ['COOKIE_KEYS', /^COOKIE_KEYS is not set: production does not generate cookie keys; set COOKIE_KEYS to /],
    ['DPOP_NONCE_SECRET', /^DPOP_NONCE_SECRET is not set: .*; set DPOP_NONCE_SECRET to 64 hexadecimal/],
    ['PAIRWISE_SALT', /^PAIRWISE_SALT is not set: .*; set PAIRWISE_SALT to /],
    ['CODE_HMAC_SECRET', /^CODE_HMAC_SECRET is not set: .*; set CODE_HMAC_SECRET to /],
    ['KEY_ENCRYPTION_KEY', /^KEY_ENCRYPTION_KEY is not set: .*; set KEY_ENCRYPTION_KEY to 64 hexadecimal/],
    ['SMTP_URL', /^SMTP_URL is not set: production sends no mail to the development outbox or the console log; set SMTP_URL=smtp:/],
    ['DATABASE_URL', /^DATABASE_URL is not set: production does not fall back to the embedded SQLite; set DATABASE_URL=postgres:\/\/… or, .*DATABASE_URL=sqlite:\/\/\/path\/to\/file\.sqlite$/],
    ['TRUSTED_PROXIES', /^TRUSTED_PROXIES is not set: .*https .*; set TRUSTED_PROXIES to /],
  ])('production refuses to start without %s, in one line that says what to set', (name, message) => {
    const env: Record<string, string> = { ...productionEnv };
    delete env[name];
    expect(problemsOf(env)).toEqual([expect.stringMatching(message)]);
  });

  test('production refuses the mock upstreams, even asked for explicitly', () => {
    expect(problemsOf({ ...productionEnv, MOCKS_ENABLED: 'true' })).toEqual([
      expect.stringMatching(/^MOCKS_ENABLED=true: production serves no mock upstreams .*; remove MOCKS_ENABLED and set IDPORTEN_ISSUER and BANKID_BASE_URL/),
    ]);
    expect(loadConfig({ ...productionEnv, MOCKS_ENABLED: 'false' }).mocksEnabled).toBe(false);
  });

  test('production refuses an http issuer', () => {
    expect(problemsOf({ ...productionEnv, ISSUER: 'http://id.example.test' })).toEqual([
      'ISSUER is http://id.example.test: production needs the public https URL; set ISSUER=https://…',
    ]);
  });

  test('every problem at once, one line each, under one heading', () => {
    try {
      loadConfig({ NODE_ENV: 'production', MOCKS_ENABLED: 'true' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const lines = (err as ConfigError).message.split('\n');
      expect(lines[0]).toBe('NODE_ENV=production refuses to start:');
      expect(lines.slice(1).every((l) => l.startsWith(' - '))).toBe(true);
      expect(lines.slice(1).map((l) => l.slice(3).split(/[ =:]/, 1)[0])).toEqual([
        'COOKIE_KEYS', 'DPOP_NONCE_SECRET', 'PAIRWISE_SALT', 'CODE_HMAC_SECRET', 'KEY_ENCRYPTION_KEY', 'SMTP_URL', 'MOCKS_ENABLED', 'DATABASE_URL', 'ISSUER',
      ]);
    }
  });
});
