/**
 * The login methods' upstreams and the mocks: whether the built-in mock upstreams are served, and every
 * method kind's own settings (each kind's schema lives in its folder, src/brokers/<kind>/config.ts, and
 * joins here through the registry). Rules: an unset upstream means the built-in mock when mocks are on,
 * else no such method; mocks are on by default only outside production; every upstream's own timeout is
 * shorter than the request deadline, so its failure page is shown rather than "try again shortly".
 */
import { BROKER_ENV, brokerRefusals, brokerSettings, brokerTimeouts, type BrokerSettings } from '../brokers/registry.js';
import { bool, ConfigError, type EnvOf } from './fields.js';

export interface UpstreamConfig {
  mocksEnabled: boolean;
  /** Every login method kind's settings (src/brokers/registry.ts). */
  brokers: BrokerSettings;
}

export const upstreamEnv = {
  MOCKS_ENABLED: bool.optional(),
  // IDPORTEN_*, BANKID_*, OIDC_UPSTREAMS: each method kind's variables (src/brokers/registry.ts).
  ...BROKER_ENV,
};

export function readUpstreams(e: EnvOf<typeof upstreamEnv>, production: boolean, issuer: string): UpstreamConfig {
  const mocksEnabled = e.MOCKS_ENABLED ?? !production;
  const brokers = brokerSettings(e, { issuer, mocksEnabled });
  if (brokers.problems.length) throw new ConfigError(brokers.problems);
  return { mocksEnabled, brokers: brokers.settings };
}

/** An upstream's own timeout must fire first, so its failure page is shown rather than "try again shortly". */
export function upstreamDeadlineProblems(config: UpstreamConfig, requestDeadlineMs: number): string[] {
  const timeouts = brokerTimeouts(config.brokers);
  const upstreamMs = Math.max(0, ...timeouts.map((t) => t.ms));
  if (requestDeadlineMs <= upstreamMs) {
    const names = timeouts.map((t) => t.variable);
    return [`REQUEST_DEADLINE_MS: must be longer than ${[names.slice(0, -1).join(', '), names.at(-1)].filter(Boolean).join(' and ')} (${upstreamMs} ms)`];
  }
  return [];
}

/** What production refuses of the login methods' settings (https upstreams, mutual TLS, real secrets). */
export const upstreamRefusals = (config: UpstreamConfig): string[] => brokerRefusals(config.brokers);
