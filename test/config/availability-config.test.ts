/** The availability settings: documented defaults, bad values named by their variable, a deadline that outlasts the upstreams. */
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

describe('availability config', () => {
  test('defaults', () => {
    expect(loadConfig({}).availability).toEqual({
      dbAcquireTimeoutMs: 2000,
      dbStatementTimeoutMs: 5000,
      dbPreparedStatements: true,
      requestDeadlineMs: 15000,
      readyTimeoutMs: 1000,
      retryAfterSeconds: 5,
    });
  });

  test('values are read and bad ones named', () => {
    expect(loadConfig({ DB_ACQUIRE_TIMEOUT_MS: '750', RETRY_AFTER_SECONDS: '30' }).availability).toMatchObject({ dbAcquireTimeoutMs: 750, retryAfterSeconds: 30 });
    expect(loadConfig({ DB_PREPARED_STATEMENTS: 'false' }).availability.dbPreparedStatements).toBe(false);
    expect(problemsOf({ DB_PREPARED_STATEMENTS: 'sometimes' })).toEqual([expect.stringMatching(/^DB_PREPARED_STATEMENTS: /)]);
    expect(problemsOf({ DB_STATEMENT_TIMEOUT_MS: 'soon' })).toEqual([expect.stringMatching(/^DB_STATEMENT_TIMEOUT_MS: /)]);
    expect(problemsOf({ DB_ACQUIRE_TIMEOUT_MS: '0' })).toEqual([expect.stringMatching(/^DB_ACQUIRE_TIMEOUT_MS: /)]);
    expect(problemsOf({ READY_TIMEOUT_MS: '-1' })).toEqual([expect.stringMatching(/^READY_TIMEOUT_MS: /)]);
    expect(problemsOf({ RETRY_AFTER_SECONDS: '0' })).toEqual([expect.stringMatching(/^RETRY_AFTER_SECONDS: /)]);
  });

  test('the request deadline must outlast the upstream timeouts', () => {
    expect(problemsOf({ REQUEST_DEADLINE_MS: '10000' })).toEqual([expect.stringMatching(/^REQUEST_DEADLINE_MS: must be longer than IDPORTEN_TIMEOUT_MS and BANKID_TIMEOUT_MS \(10000 ms\)/)]);
    expect(problemsOf({ REQUEST_DEADLINE_MS: '4000', IDPORTEN_TIMEOUT_MS: '3000', BANKID_TIMEOUT_MS: '3000' })).toEqual([]);
  });
});
