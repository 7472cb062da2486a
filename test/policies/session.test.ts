/** The pure session rules (src/policies/session.ts) and their settings in src/config/sessions.ts. */
import { endNotice, endReason, sessionTtlSeconds } from '../../src/policies/session.js';
import { ConfigError, loadConfig } from '../../src/config/index.js';

const policy = { idleTimeoutSeconds: 1800, maxLifetimeSeconds: 43200 };
const login = 1_700_000_000;

describe('session rules', () => {
  test('each save gives the idle timeout, capped by what is left of the absolute lifetime', () => {
    expect(sessionTtlSeconds(policy, { loginTs: login }, login)).toBe(1800);
    expect(sessionTtlSeconds(policy, { loginTs: login }, login + 43200 - 600)).toBe(600);
    // Never below one second (oidc-provider requires a positive lifetime).
    expect(sessionTtlSeconds(policy, { loginTs: login }, login + 43200)).toBe(1);
    // Before a login the first save counts, then now.
    expect(sessionTtlSeconds(policy, { iat: login }, login + 43000)).toBe(200);
    expect(sessionTtlSeconds(policy, {}, login)).toBe(1800);
  });

  test('an ended session says whether it reached its absolute end or was idle', () => {
    expect(endReason(policy, { loginTs: login, exp: login + 43200 })).toBe('max_lifetime');
    expect(endReason(policy, { loginTs: login, exp: login + 43199 })).toBe('idle');
    expect(endReason(policy, {})).toBe('idle');
  });

  test('the note names the idle timeout from the settings', () => {
    expect(endNotice(policy, 'idle')).toEqual({ id: 'session.ended.idle_minutes', params: { minutes: 30 } });
    expect(endNotice({ ...policy, idleTimeoutSeconds: 20 }, 'idle')).toEqual({ id: 'session.ended.idle_seconds', params: { seconds: 20 } });
    expect(endNotice(policy, 'max_lifetime').id).toBe('session.ended.max_lifetime');
  });
});

describe('session settings', () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };

  test('defaults: 30 minutes idle, 12 hours at most, a sweep at least every minute', () => {
    expect(loadConfig({}).sessions).toEqual({ idleTimeoutSeconds: 1800, maxLifetimeSeconds: 43200, sweepIntervalSeconds: 30 });
  });

  test('any positive number of seconds, a few included; SESSION_TTL_SECONDS is the old name of the maximum', () => {
    expect(loadConfig({ SESSION_IDLE_TIMEOUT_SECONDS: '5', SESSION_MAX_LIFETIME_SECONDS: '12' }).sessions).toMatchObject({ idleTimeoutSeconds: 5, maxLifetimeSeconds: 12 });
    expect(loadConfig({ SESSION_TTL_SECONDS: '3600' }).sessions.maxLifetimeSeconds).toBe(3600);
    expect(loadConfig({ SESSION_TTL_SECONDS: '3600', SESSION_MAX_LIFETIME_SECONDS: '7200' }).sessions.maxLifetimeSeconds).toBe(7200);
  });

  test('a bad value is named by its variable', () => {
    expect(problems({ SESSION_IDLE_TIMEOUT_SECONDS: '0' })).toEqual([expect.stringMatching(/^SESSION_IDLE_TIMEOUT_SECONDS: /)]);
    expect(problems({ SESSION_MAX_LIFETIME_SECONDS: 'soon' })).toEqual([expect.stringMatching(/^SESSION_MAX_LIFETIME_SECONDS: /)]);
    expect(problems({ SESSION_SWEEP_INTERVAL_SECONDS: '61' })).toEqual([expect.stringMatching(/^SESSION_SWEEP_INTERVAL_SECONDS: /)]);
  });
});
