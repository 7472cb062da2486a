/** The validated config object: defaults, named errors, and production's refusal of development defaults. */
import { loadConfig, developmentDefaults, ConfigError } from '../../src/config.js';

const productionEnv = {
  NODE_ENV: 'production',
  ISSUER: 'https://id.example.test',
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
  test('development defaults: port 3000, localhost issuer, SQLite in ./data, mocks on', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.issuer).toBe('http://localhost:3000');
    expect(c.databaseUrl).toBeUndefined();
    expect(c.dataDir).toMatch(/\/data$/);
    expect(c.mocksEnabled).toBe(true);
    expect(developmentDefaults(c).length).toBeGreaterThan(0);
  });

  test('a bad value is named by its variable', () => {
    expect(problemsOf({ PORT: 'abc' })).toEqual([expect.stringMatching(/^PORT: /)]);
    expect(problemsOf({ DATABASE_URL: 'mysql://x' })).toEqual([expect.stringMatching(/^DATABASE_URL: must be a postgres/)]);
    expect(problemsOf({ TRUST_PROXY: 'maybe' })).toEqual([expect.stringMatching(/^TRUST_PROXY: must be true or false/)]);
    expect(problemsOf({ COOKIE_KEYS: 'short' })[0]).toMatch(/^COOKIE_KEYS\[0\]: each cookie key must be at least 32 characters/);
    expect(problemsOf({ DPOP_NONCE_SECRET: 'xyz' })[0]).toMatch(/^DPOP_NONCE_SECRET: must be 64 hexadecimal/);
  });

  test('production with everything set starts, mocks off by default', () => {
    const c = loadConfig(productionEnv);
    expect(c.mocksEnabled).toBe(false);
    expect(developmentDefaults(c)).toEqual([]);
  });

  test.each([
    ['COOKIE_KEYS', /COOKIE_KEYS is not set/],
    ['DPOP_NONCE_SECRET', /DPOP_NONCE_SECRET is not set/],
    ['PAIRWISE_SALT', /PAIRWISE_SALT is not set/],
    ['CODE_HMAC_SECRET', /CODE_HMAC_SECRET is not set/],
    ['KEY_ENCRYPTION_KEY', /KEY_ENCRYPTION_KEY is not set/],
    ['SMTP_URL', /SMTP_URL is not set/],
  ])('production refuses to start without %s and says so', (name, message) => {
    const env: Record<string, string> = { ...productionEnv };
    delete env[name];
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/NODE_ENV=production refuses a development default/);
    expect(problems[0]).toMatch(message);
  });

  test('production refuses an http issuer', () => {
    expect(problemsOf({ ...productionEnv, ISSUER: 'http://id.example.test' })[0]).toMatch(/ISSUER is http:\/\/id\.example\.test/);
  });

  test('mocks can be enabled in production only explicitly', () => {
    expect(loadConfig({ ...productionEnv, MOCKS_ENABLED: 'true' }).mocksEnabled).toBe(true);
  });
});
