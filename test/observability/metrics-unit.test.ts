/**
 * The pieces of the metrics without a server: the label gate, the bearer comparison, a registry per
 * instance (two instances in one process count apart and do not clash), and the settings.
 */
import { loadConfig, ConfigError } from '../../src/config/index.js';
import { createMetrics, oneOf, LOGIN_METHODS, OIDC_ERRORS } from '../../src/observability/metrics.js';
import { bearerMatches } from '../../src/observability/metrics-http.js';
import { parseExposition, samplesOf } from './exposition.js';

describe('labels come from fixed sets', () => {
  test('a value outside the set is `other`, whatever it is', () => {
    expect(oneOf('idporten', LOGIN_METHODS)).toBe('idporten');
    for (const v of ['kari@example.no', 'IDPORTEN', '', undefined, 42, { toString: () => 'idporten' }]) expect(oneOf(v, LOGIN_METHODS)).toBe('other');
    expect(oneOf('invalid_grant', OIDC_ERRORS)).toBe('invalid_grant');
    expect(oneOf('invalid_grant\n', OIDC_ERRORS)).toBe('other');
  });

  test('counters fed client text record `other`; an over-long route is `other`', async () => {
    const { metrics, scrape } = createMetrics({});
    metrics.tokenIssued('urn:kari@example.no');
    metrics.oidcError('grant.error', 'kari@example.no');
    metrics.oidcError('made.up.event', 'invalid_grant');
    metrics.login({ method: 'local', outcome: 'success', acr: 'kari@example.no' });
    metrics.upstream('idporten', 'https://evil.example/kari', 0.1, true);
    metrics.httpRequest(`/${'x'.repeat(200)}`, 'BREW', 418, 0.01);
    const text = await scrape();
    expect(text).not.toContain('example');
    const samples = parseExposition(text);
    expect(samplesOf(samples, 'nordlys_tokens_issued_total')).toEqual([{ labels: { grant_type: 'other' }, value: 1 }]);
    expect(samplesOf(samples, 'nordlys_oidc_errors_total')).toEqual([
      { labels: { endpoint: 'grant.error', error: 'other' }, value: 1 },
      { labels: { endpoint: 'other', error: 'invalid_grant' }, value: 1 },
    ]);
    expect(samplesOf(samples, 'nordlys_logins_total')).toEqual([{ labels: { method: 'local', outcome: 'success', acr: 'other' }, value: 1 }]);
    expect(samplesOf(samples, 'nordlys_upstream_request_duration_seconds_count')).toEqual([{ labels: { broker: 'idporten', call: 'other', outcome: 'ok' }, value: 1 }]);
    expect(samplesOf(samples, 'nordlys_http_request_duration_seconds_count')).toEqual([{ labels: { route: 'other', method: 'other', status: '4xx' }, value: 1 }]);
  });

  test('each instance has its own registry: two in one process neither clash nor share counts', async () => {
    const a = createMetrics({});
    const b = createMetrics({ pool: { inUse: () => 3, waiting: () => 2, idle: () => 1 } });
    a.metrics.mail('sent');
    a.metrics.mail('sent');
    b.metrics.mail('failed');
    const [sa, sb] = [parseExposition(await a.scrape()), parseExposition(await b.scrape())];
    expect(samplesOf(sa, 'nordlys_mails_total')).toEqual([{ labels: { outcome: 'sent' }, value: 2 }]);
    expect(samplesOf(sb, 'nordlys_mails_total')).toEqual([{ labels: { outcome: 'failed' }, value: 1 }]);
    expect(samplesOf(sa, 'nordlys_db_pool_in_use')).toEqual([]);
    expect(samplesOf(sb, 'nordlys_db_pool_in_use')).toEqual([{ labels: {}, value: 3 }]);
    expect(samplesOf(sb, 'nordlys_db_pool_waiting')).toEqual([{ labels: {}, value: 2 }]);
  });
});

describe('the bearer token', () => {
  const token = 't'.repeat(40);
  test('only `Bearer <token>` exactly matches', () => {
    expect(bearerMatches(`Bearer ${token}`, token)).toBe(true);
    expect(bearerMatches(`bearer ${token}`, token)).toBe(true);
    for (const h of [undefined, '', token, `Bearer ${token} `, `Bearer ${token}t`, `Bearer ${token.slice(1)}`, `Basic ${token}`, 'Bearer ', `Bearer  ${token}`]) {
      expect([h, bearerMatches(h, token)]).toEqual([h, false]);
    }
  });
});

describe('metrics settings', () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      return (err as ConfigError).problems;
    }
    return [];
  };
  test('off by default; a port and a token are read; bad values name the variable', () => {
    expect(loadConfig({}).metrics).toEqual({ port: undefined, token: undefined });
    expect(loadConfig({ METRICS_PORT: '9464', METRICS_TOKEN: 'x'.repeat(32) }).metrics).toEqual({ port: 9464, token: 'x'.repeat(32) });
    expect(problems({ METRICS_TOKEN: 'short' })).toEqual(['METRICS_TOKEN: must be at least 32 characters (openssl rand -hex 32)']);
    expect(problems({ METRICS_PORT: 'nine' })[0]).toMatch(/^METRICS_PORT: /);
    expect(problems({ METRICS_PORT: '3000' })).toEqual(['METRICS_PORT: must differ from PORT']);
  });
});
