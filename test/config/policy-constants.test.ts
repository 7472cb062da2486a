/** Settings that used to be constants in code: their documented defaults, their bounds, and the restart record outliving the interaction. */
import { loadConfig, ConfigError } from '../../src/config/index.js';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('settings that were constants', () => {
  test('defaults: 60 s authorization codes, a day for public refresh tokens and "Start again", a 30 s first delay', () => {
    const c = loadConfig({});
    expect(c.ttl.authorizationCodeSeconds).toBe(60);
    expect(c.ttl.publicClientRefreshTokenSeconds).toBe(24 * 3600);
    expect(c.ttl.interactionRestartSeconds).toBe(24 * 3600);
    expect(c.localAccounts.loginBaseDelaySeconds).toBe(30);
  });

  test('values are read', () => {
    const c = loadConfig({
      AUTHORIZATION_CODE_TTL_SECONDS: '30',
      PUBLIC_CLIENT_REFRESH_TOKEN_TTL_SECONDS: '7200',
      INTERACTION_RESTART_TTL_SECONDS: '7200',
      LOGIN_BASE_DELAY_SECONDS: '10',
    });
    expect(c.ttl).toMatchObject({ authorizationCodeSeconds: 30, publicClientRefreshTokenSeconds: 7200, interactionRestartSeconds: 7200 });
    expect(c.localAccounts.loginBaseDelaySeconds).toBe(10);
  });

  test('bad values are named by their variable', () => {
    expect(problemsOf({ AUTHORIZATION_CODE_TTL_SECONDS: '3600' })).toEqual([expect.stringMatching(/^AUTHORIZATION_CODE_TTL_SECONDS: /)]);
    expect(problemsOf({ AUTHORIZATION_CODE_TTL_SECONDS: '1' })).toEqual([expect.stringMatching(/^AUTHORIZATION_CODE_TTL_SECONDS: /)]);
    expect(problemsOf({ PUBLIC_CLIENT_REFRESH_TOKEN_TTL_SECONDS: '0' })).toEqual([expect.stringMatching(/^PUBLIC_CLIENT_REFRESH_TOKEN_TTL_SECONDS: /)]);
    expect(problemsOf({ LOGIN_BASE_DELAY_SECONDS: 'soon' })).toEqual([expect.stringMatching(/^LOGIN_BASE_DELAY_SECONDS: /)]);
    expect(problemsOf({ INTERACTION_RESTART_TTL_SECONDS: '10' })).toEqual([expect.stringMatching(/^INTERACTION_RESTART_TTL_SECONDS: /)]);
  });

  test('"Start again" must outlive the interaction it restarts', () => {
    expect(problemsOf({ INTERACTION_TTL_SECONDS: '7200', INTERACTION_RESTART_TTL_SECONDS: '3600' })).toEqual([
      'INTERACTION_RESTART_TTL_SECONDS: must be longer than INTERACTION_TTL_SECONDS (7200 s)',
    ]);
    expect(problemsOf({ INTERACTION_TTL_SECONDS: '600', INTERACTION_RESTART_TTL_SECONDS: '3600' })).toEqual([]);
  });
});
