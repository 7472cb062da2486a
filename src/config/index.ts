/**
 * The one validated configuration object, assembled from one module per area (each holds its
 * variables' schema, their defaults and the settings they become). Rules enforced here:
 * - every setting comes from the environment (or a default) and is validated once, at start-up;
 * - a bad value stops start-up with a message that names the variable;
 * - in production the service refuses development-only settings (generated secrets, mock upstreams,
 *   mail to the outbox or the console, an http issuer, the embedded SQLite without being asked for,
 *   no trusted proxy in front of an https issuer), one line per problem naming the variable and what
 *   to set instead (productionRefusals).
 * No other module reads process.env.
 */
import { z } from 'zod';
import { ConfigError } from './fields.js';
import { deploymentEnv, readDeployment, type DeploymentConfig } from './deployment.js';
import { readSecrets, secretsEnv, type SecretsConfig } from './secrets.js';
import { mailEnv, readMail, type MailConfig } from './mail.js';
import { readUpstreams, upstreamDeadlineProblems, upstreamEnv, upstreamRefusals, type UpstreamConfig } from './upstreams.js';
import { readTokens, restartProblems, tokenEnv, type TokenConfig } from './tokens.js';
import { localAccountEnv, readLocalAccounts, type LocalAccountConfig } from './local-accounts.js';
import { readSessions, sessionEnv, type SessionConfig } from './sessions.js';
import { outboundEnv, readOutbound, type OutboundConfig } from './outbound.js';
import { complianceEnv, readCompliance, type ComplianceConfig } from './compliance.js';
import { guessingEnv, readGuessing, type GuessingConfig } from './guessing.js';
import { availabilityEnv, readAvailability, type AvailabilityConfig } from './availability.js';
import { operationsEnv, readOperations, type OperationsConfig } from './operations.js';
import { playgroundEnv, readPlayground, type PlaygroundConfig } from './playground.js';
import { metricsEnv, readMetrics, type MetricsConfig } from './metrics.js';
import { adminEnv, readAdmin, type AdminConfig } from './admin.js';

export { ConfigError } from './fields.js';
export { RECOMMENDED_MMAP_THRESHOLD } from './operations.js';
export type { NodeEnv } from './deployment.js';
export type { TokenLifetimes } from './tokens.js';
export type { LocalAccountSettings } from './local-accounts.js';
export type { SessionSettings } from './sessions.js';
export type { OutboundSettings } from './outbound.js';
export type { GuessingSettings } from './guessing.js';
export type { AvailabilitySettings } from './availability.js';

export interface Config
  extends DeploymentConfig,
    SecretsConfig,
    MailConfig,
    UpstreamConfig,
    TokenConfig,
    LocalAccountConfig,
    SessionConfig,
    OutboundConfig,
    ComplianceConfig,
    GuessingConfig,
    AvailabilityConfig,
    OperationsConfig,
    PlaygroundConfig,
    MetricsConfig,
    AdminConfig {}

const envSchema = z.object({
  ...deploymentEnv,
  ...secretsEnv,
  ...mailEnv,
  ...upstreamEnv,
  ...tokenEnv,
  ...localAccountEnv,
  ...sessionEnv,
  ...outboundEnv,
  ...complianceEnv,
  ...guessingEnv,
  ...availabilityEnv,
  ...operationsEnv,
  ...playgroundEnv,
  ...metricsEnv,
  ...adminEnv,
});

/** Parse and validate the environment into a Config. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const emptyAsMissing = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(emptyAsMissing);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.map((p, n) => (typeof p === 'number' ? `[${p}]` : `${n ? '.' : ''}${String(p)}`)).join('') || 'environment'}: ${i.message}`));
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const deployment = readDeployment(e);
  const config: Config = {
    ...deployment,
    ...readSecrets(e),
    ...readMail(e),
    ...readUpstreams(e, production, deployment.issuer),
    ...readTokens(e),
    ...readLocalAccounts(e),
    ...readSessions(e),
    ...readOutbound(e),
    ...readCompliance(e),
    ...readGuessing(e),
    ...readAvailability(e),
    ...readOperations(e, production),
    ...readPlayground(e, production),
    ...readMetrics(e),
    ...readAdmin(e),
  };
  const deadline = upstreamDeadlineProblems(config, config.availability.requestDeadlineMs);
  if (deadline.length) throw new ConfigError(deadline);
  const restart = restartProblems(config.ttl);
  if (restart.length) throw new ConfigError(restart);
  if (config.metrics.port !== undefined && config.metrics.port === config.port) throw new ConfigError(['METRICS_PORT: must differ from PORT']);
  if (production) {
    const refused = productionRefusals(config);
    if (refused.length > 0) throw new ConfigError(refused, 'NODE_ENV=production refuses to start');
  }
  return config;
}

/** The config of this process, from its environment: the one place the environment is read. */
export function loadConfigFromEnvironment(): Config {
  return loadConfig(process.env);
}

/**
 * What production refuses, one line per problem: the variable, why, and what to set instead. Outside
 * production the same list is what main.ts warns about ("running on development defaults").
 */
export function productionRefusals(config: Config): string[] {
  const found: string[] = [];
  const secret = (name: string, what: string, shape: string) =>
    found.push(`${name} is not set: production does not generate ${what}; set ${name} to ${shape} (openssl rand -hex 32)`);
  if (!config.secrets.cookieKeys) secret('COOKIE_KEYS', 'cookie keys', 'one or more comma-separated keys of at least 32 characters');
  if (!config.secrets.dpopNonceSecret) secret('DPOP_NONCE_SECRET', 'the DPoP nonce key', '64 hexadecimal characters');
  if (!config.secrets.pairwiseSalt) secret('PAIRWISE_SALT', 'the pairwise subject salt', 'at least 32 characters, kept for good');
  if (!config.secrets.codeHmacSecret) secret('CODE_HMAC_SECRET', 'the one-time code key', 'at least 32 characters');
  if (!config.operations.keyEncryptionKey) {
    secret('KEY_ENCRYPTION_KEY', 'the key that encrypts the private signing keys (it would be stored beside the keys it protects)', '64 hexadecimal characters');
  }
  if (!config.mail.smtpUrl) {
    found.push('SMTP_URL is not set: production sends no mail to the development outbox or the console log; set SMTP_URL=smtp://… or smtps://… (your mail relay)');
  }
  if (config.mocksEnabled) {
    found.push('MOCKS_ENABLED=true: production serves no mock upstreams (anyone could log in as anyone at any level); remove MOCKS_ENABLED and set IDPORTEN_ISSUER and BANKID_BASE_URL to the real services');
  }
  if (!config.deployment.databaseChosen) {
    found.push('DATABASE_URL is not set: production does not fall back to the embedded SQLite; set DATABASE_URL=postgres://… or, for one instance on purpose, DATABASE_URL=sqlite:///path/to/file.sqlite');
  }
  if (!config.issuer.startsWith('https://')) {
    found.push(`ISSUER is ${config.issuer}: production needs the public https URL; set ISSUER=https://…`);
  } else if (config.deployment.trustedProxies.length === 0) {
    found.push('TRUSTED_PROXIES is not set: the service speaks plain http and must learn of https from the TLS-terminating proxy in front of it; set TRUSTED_PROXIES to that proxy\'s addresses or ranges (e.g. 10.0.0.0/8, private or loopback)');
  }
  found.push(...upstreamRefusals(config));
  return found;
}

/** Kept for main.ts: the development-only settings in use (the list production refuses). */
export const developmentDefaults = productionRefusals;

/** Settings production accepts but an operator should hear about at start-up. */
export function productionWarnings(config: Config): string[] {
  if (config.nodeEnv !== 'production' || config.databaseUrl) return [];
  return [`DATABASE_URL=sqlite://${config.deployment.sqliteFile}: SQLite serves one instance only; use PostgreSQL to run more than one`];
}
