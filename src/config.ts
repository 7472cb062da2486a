/**
 * The one validated configuration object. Rules enforced here:
 * - every setting comes from the environment (or a default) and is validated once, at start-up;
 * - a bad value stops start-up with a message that names the variable;
 * - in production the service refuses development-only settings (generated secrets, mock upstreams,
 *   mail to the outbox or the console, an http issuer, the embedded SQLite without being asked for,
 *   no trusted proxy in front of an https issuer), one line per problem naming the variable and what
 *   to set instead (productionRefusals).
 * No other module reads process.env.
 */
import path from 'node:path';
import { z } from 'zod';
import { parseProxyList } from './http/client-address.js';
import { parseOutboundAllowList } from './policies/outbound-hosts.js';
import { BROKER_ENV, brokerRefusals, brokerSettings, brokerTimeouts, type BrokerSettings } from './brokers/registry.js';

export type NodeEnv = 'development' | 'production' | 'test';

export interface Config {
  nodeEnv: NodeEnv;
  host: string;
  port: number;
  issuer: string;
  logLevel: string;
  dataDir: string;
  /** PostgreSQL connection string; undefined means SQLite (deployment.sqliteFile). */
  databaseUrl: string | undefined;
  clientsFile: string;
  /** Secrets that development may generate and keep in the store; production must provide them. */
  secrets: {
    cookieKeys: string[] | undefined;
    dpopNonceSecret: string | undefined;
    pairwiseSalt: string | undefined;
    /** Key of the HMACs that stand in for one-time codes in the store. */
    codeHmacSecret: string | undefined;
  };
  mail: { smtpUrl: string | undefined; from: string };
  mocksEnabled: boolean;
  /** Every login method kind's settings (each schema lives in its folder, src/brokers/<kind>/config.ts). */
  brokers: BrokerSettings;
  ttl: {
    interactionSeconds: number;
    accessTokenSeconds: number;
    idTokenSeconds: number;
    refreshTokenSeconds: number;
  };
  keys: {
    /** How long a new signing key is published before it signs (RPs refresh their JWKS caches). */
    publishSeconds: number;
    /** How often a running instance re-reads the key set, so rotation needs no restart. */
    refreshSeconds: number;
  };
  sweepIntervalSeconds: number;
  bodyLimitBytes: number;
  localAccounts: LocalAccountSettings;
  /** Where the service runs: the proxies it believes and the SQLite file it uses without PostgreSQL. */
  deployment: {
    /** TRUSTED_PROXIES entries, canonical (src/http/client-address.ts); empty: no proxy is believed. */
    trustedProxies: string[];
    /** The SQLite file: from DATABASE_URL=sqlite:///path, else nordlys.sqlite in dataDir. */
    sqliteFile: string;
    /** True when DATABASE_URL names the store outright (postgres:// or sqlite://). */
    databaseChosen: boolean;
  };
  sessions: SessionSettings;
  outbound: OutboundSettings;
  /** What the law and the trust frameworks ask of us: audit retention, the Sweden Connect level we may claim. */
  compliance: {
    /** Audit events older than this are purged by the sweep (AUDIT_RETENTION_DAYS). */
    auditRetentionDays: number;
    /**
     * The operator declares this service a certified Sweden Connect identity provider; only then does a
     * BankID login carry `http://id.elegnamnden.se/loa/1.0/loa3`, else the self-declared `uncertified-loa3`.
     */
    bankidSwedenConnectCertified: boolean;
  };
  guessing: GuessingSettings;
  availability: AvailabilitySettings;
  /** Graceful shutdown and the protection of signing keys at rest. */
  operations: {
    /** 64 hexadecimal characters: AES-256-GCM key that private signing keys are encrypted under. */
    keyEncryptionKey: string | undefined;
    /** After SIGTERM, /readyz answers 503 and the service keeps serving this long (load balancers notice). */
    shutdownDrainSeconds: number;
    /** Then in-flight requests get this long to finish before their connections are destroyed. */
    shutdownGraceSeconds: number;
  };
  /** The integrator playground at /playground (src/playground/): on in development, opt-in in production. */
  playground: { enabled: boolean };
  /** Prometheus metrics (src/observability/): off unless METRICS_PORT or METRICS_TOKEN is set. */
  metrics: {
    /** A listener of its own for /metrics (on HOST); then the main port does not serve it. */
    port: number | undefined;
    /** Bearer token every scrape must present; required for /metrics on the main port. */
    token: string | undefined;
  };
  /** Clients in the database and the admin API at /admin/api/v1 (src/admin/). */
  admin: {
    /** After a client secret is rotated, the previous one keeps working this long. */
    secretGraceSeconds: number;
    /** Admin API requests per admin client per minute. */
    requestsPerMinute: number;
  };
}

/** When a login session ends (DESIGN §6): after inactivity, and at the latest after its absolute lifetime. */
export interface SessionSettings {
  /** A session not used for this long ends (Migrationsverket: 30 minutes). */
  idleTimeoutSeconds: number;
  /** A session ends this long after the login, however much it is used. */
  maxLifetimeSeconds: number;
  /** How often ended sessions are looked for and their relying parties sent a back-channel logout. */
  sweepIntervalSeconds: number;
}

/** Requests we make to relying parties: the SSRF allow-list and the back-channel logout outbox. */
export interface OutboundSettings {
  /** ALLOW_PRIVATE_OUTBOUND_HOSTS as written: host names, addresses and CIDR ranges of the operator's own RPs. */
  allowPrivateHosts: string[];
  backchannel: { timeoutMs: number; retryBaseSeconds: number; retryMaxSeconds: number; intervalSeconds: number };
}

/** Limits on guessing codes and passwords, and on starting logins (DESIGN §5, §7). */
export interface GuessingSettings {
  /** Wrong codes one e-mail address may get in 24 hours, over every flow and resend. */
  codeMaxFailuresPerAddress: number;
  /** How long a browser's device cookie (its own login budget for an account) lasts. */
  deviceCookieDays: number;
  /** New interactions (logins started at /auth) per minute from one IP address, and for one client. */
  authNewInteractionsPerIpMinute: number;
  authNewInteractionsPerClientMinute: number;
}

/** How long anything may wait on the database, and what a client is told while it is away. */
export interface AvailabilitySettings {
  /** Longest wait for a database connection (connecting included). */
  dbAcquireTimeoutMs: number;
  /** PostgreSQL statement_timeout (SQLite: the busy timeout). */
  dbStatementTimeoutMs: number;
  /** Every request is answered by then: after it, a 503 with Retry-After. */
  requestDeadlineMs: number;
  /** How long /readyz waits for the database before it answers 503. */
  readyTimeoutMs: number;
  /** The Retry-After of every 503. */
  retryAfterSeconds: number;
}

/** Self-service registration, password reset, password rules, abuse limits and retention (DESIGN §5). */
export interface LocalAccountSettings {
  passwordPolicy: 'udi' | 'nist';
  /** One common password per line; both presets refuse them. */
  passwordBlocklistFile: string;
  codeTtlSeconds: number;
  codeMaxAttempts: number;
  codeResendCooldownSeconds: number;
  codeSendsPerAddressHourly: number;
  codeSendsPerIpHourly: number;
  /** How long a registration or reset may take from the first code to the new password. */
  flowTtlSeconds: number;
  /** Failed logins on one account before delays start (an IP address gets four times as many). */
  loginFreeFailures: number;
  loginMaxDelaySeconds: number;
  /** Accounts of every kind without a login for this long are deleted (a tombstone keeps the sub). */
  retentionDays: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[], heading = 'Invalid configuration') {
    super(`${heading}:\n - ${problems.join('\n - ')}`);
    this.name = 'ConfigError';
  }
}

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const seconds = z.coerce.number().int().positive();
const hex32 = z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hexadecimal characters (32 bytes)');

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('localhost'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  ISSUER: z.url({ message: 'must be an absolute URL' }).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^(postgres(ql)?:\/\/|sqlite:\/\/[^?#]+$)/, 'must be a postgres:// or postgresql:// URL, or sqlite:///path/to/file.sqlite')
    .optional(),
  CLIENTS_FILE: z.string().min(1).default('./config/clients.json'),
  COOKIE_KEYS: z
    .string()
    .transform((s) => s.split(',').map((k) => k.trim()).filter(Boolean))
    .pipe(z.array(z.string().min(32, 'each cookie key must be at least 32 characters')).min(1))
    .optional(),
  DPOP_NONCE_SECRET: hex32.optional(),
  PAIRWISE_SALT: z.string().min(32, 'must be at least 32 characters').optional(),
  CODE_HMAC_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL').optional(),
  MAIL_FROM: z.string().min(3).default('Nordlys ID <no-reply@localhost>'),
  MOCKS_ENABLED: bool.optional(),
  // --- login methods: IDPORTEN_*, BANKID_*, OIDC_UPSTREAMS (src/brokers/registry.ts) ---
  ...BROKER_ENV,
  INTERACTION_TTL_SECONDS: seconds.default(3600),
  ACCESS_TOKEN_TTL_SECONDS: seconds.default(3600),
  ID_TOKEN_TTL_SECONDS: seconds.default(3600),
  REFRESH_TOKEN_TTL_SECONDS: seconds.default(14 * 24 * 3600),
  KEY_PUBLISH_SECONDS: z.coerce.number().int().min(0).default(3600),
  KEY_REFRESH_SECONDS: seconds.default(60),
  SWEEP_INTERVAL_SECONDS: seconds.default(300),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(1048576).default(65536),
  PASSWORD_POLICY: z.enum(['udi', 'nist'], { message: 'must be udi or nist' }).default('udi'),
  PASSWORD_BLOCKLIST_FILE: z.string().min(1).default('./config/common-passwords.txt'),
  CODE_TTL_SECONDS: z.coerce.number().int().min(30).max(3600).default(300),
  CODE_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  CODE_RESEND_COOLDOWN_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
  CODE_SENDS_PER_ADDRESS_HOURLY: z.coerce.number().int().min(1).max(1000).default(5),
  CODE_SENDS_PER_IP_HOURLY: z.coerce.number().int().min(1).max(100000).default(20),
  FLOW_TTL_SECONDS: z.coerce.number().int().min(60).max(24 * 3600).default(1800),
  LOGIN_FREE_FAILURES: z.coerce.number().int().min(1).max(100).default(5),
  LOGIN_MAX_DELAY_SECONDS: z.coerce.number().int().min(1).max(24 * 3600).default(900),
  ACCOUNT_RETENTION_DAYS: z.coerce.number().int().min(1).default(730),
  // --- production refusals and trusted proxies ---
  TRUSTED_PROXIES: z
    .string()
    .transform((spec, ctx) => {
      const { entries, problems } = parseProxyList(spec);
      for (const problem of problems) ctx.addIssue({ code: 'custom', message: problem });
      return entries;
    })
    .optional(),
  TRUST_PROXY: z
    .string()
    .refine(() => false, 'is no longer read: list the proxies in TRUSTED_PROXIES (addresses, CIDR ranges, loopback, private)')
    .optional(),
  // --- sessions ---
  SESSION_IDLE_TIMEOUT_SECONDS: seconds.default(1800),
  SESSION_MAX_LIFETIME_SECONDS: seconds.optional(),
  /** The former name of SESSION_MAX_LIFETIME_SECONDS, still honoured when the new name is unset. */
  SESSION_TTL_SECONDS: seconds.optional(),
  SESSION_SWEEP_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(60).default(30),
  // --- outbound requests and back-channel logout ---
  ALLOW_PRIVATE_OUTBOUND_HOSTS: z
    .string()
    .transform((s) => s.split(',').map((e) => e.trim()).filter(Boolean))
    .superRefine((entries, ctx) => {
      for (const problem of parseOutboundAllowList(entries).problems) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  BACKCHANNEL_TIMEOUT_MS: z.coerce.number().int().min(100).max(60000).default(5000),
  BACKCHANNEL_RETRY_BASE_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
  BACKCHANNEL_RETRY_MAX_SECONDS: z.coerce.number().int().min(1).max(24 * 3600).default(600),
  BACKCHANNEL_OUTBOX_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(5),
  // --- retention and the Sweden Connect level ---
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36500).default(365),
  BANKID_SWEDEN_CONNECT_CERTIFIED: bool.default(false),
  // --- guessing and abuse limits ---
  CODE_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).max(1000).default(10),
  DEVICE_COOKIE_DAYS: z.coerce.number().int().min(1).max(3650).default(365),
  AUTH_NEW_INTERACTIONS_PER_IP_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(120),
  AUTH_NEW_INTERACTIONS_PER_CLIENT_MINUTE: z.coerce.number().int().min(1).max(10_000_000).default(3000),
  // --- availability: database timeouts and the request deadline ---
  DB_ACQUIRE_TIMEOUT_MS: z.coerce.number().int().min(50).max(60000).default(2000),
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(50).max(600000).default(5000),
  REQUEST_DEADLINE_MS: z.coerce.number().int().min(100).max(600000).default(15000),
  READY_TIMEOUT_MS: z.coerce.number().int().min(50).max(60000).default(1000),
  RETRY_AFTER_SECONDS: z.coerce.number().int().min(1).max(3600).default(5),
  // --- shutdown and signing-key protection ---
  KEY_ENCRYPTION_KEY: hex32.optional(),
  SHUTDOWN_DRAIN_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(1).max(600).default(25),
  // --- playground ---
  PLAYGROUND_ENABLED: bool.optional(),
  // --- metrics ---
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  METRICS_TOKEN: z.string().min(32, 'must be at least 32 characters (openssl rand -hex 32)').optional(),
  // --- clients in the database and the admin API ---
  CLIENT_SECRET_GRACE_SECONDS: z.coerce.number().int().min(0).max(30 * 24 * 3600).default(24 * 3600),
  ADMIN_API_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(300),
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
  const issuer = (e.ISSUER ?? `http://localhost:${e.PORT}`).replace(/\/$/, '');
  const mocksEnabled = e.MOCKS_ENABLED ?? !production;
  const brokers = brokerSettings(e, { issuer, mocksEnabled });
  if (brokers.problems.length) throw new ConfigError(brokers.problems);
  const config: Config = {
    nodeEnv: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    issuer,
    logLevel: e.LOG_LEVEL,
    dataDir: path.resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL?.startsWith('sqlite:') ? undefined : e.DATABASE_URL,
    clientsFile: path.resolve(e.CLIENTS_FILE),
    secrets: { cookieKeys: e.COOKIE_KEYS, dpopNonceSecret: e.DPOP_NONCE_SECRET, pairwiseSalt: e.PAIRWISE_SALT, codeHmacSecret: e.CODE_HMAC_SECRET },
    mail: { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM },
    mocksEnabled,
    brokers: brokers.settings,
    ttl: {
      interactionSeconds: e.INTERACTION_TTL_SECONDS,
      accessTokenSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
      idTokenSeconds: e.ID_TOKEN_TTL_SECONDS,
      refreshTokenSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
    },
    keys: { publishSeconds: e.KEY_PUBLISH_SECONDS, refreshSeconds: e.KEY_REFRESH_SECONDS },
    sweepIntervalSeconds: e.SWEEP_INTERVAL_SECONDS,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    localAccounts: {
      passwordPolicy: e.PASSWORD_POLICY,
      passwordBlocklistFile: path.resolve(e.PASSWORD_BLOCKLIST_FILE),
      codeTtlSeconds: e.CODE_TTL_SECONDS,
      codeMaxAttempts: e.CODE_MAX_ATTEMPTS,
      codeResendCooldownSeconds: e.CODE_RESEND_COOLDOWN_SECONDS,
      codeSendsPerAddressHourly: e.CODE_SENDS_PER_ADDRESS_HOURLY,
      codeSendsPerIpHourly: e.CODE_SENDS_PER_IP_HOURLY,
      flowTtlSeconds: e.FLOW_TTL_SECONDS,
      loginFreeFailures: e.LOGIN_FREE_FAILURES,
      loginMaxDelaySeconds: e.LOGIN_MAX_DELAY_SECONDS,
      retentionDays: e.ACCOUNT_RETENTION_DAYS,
    },
    deployment: {
      trustedProxies: e.TRUSTED_PROXIES ?? [],
      sqliteFile: e.DATABASE_URL?.startsWith('sqlite://')
        ? path.resolve(e.DATABASE_URL.slice('sqlite://'.length))
        : path.join(path.resolve(e.DATA_DIR), 'nordlys.sqlite'),
      databaseChosen: e.DATABASE_URL !== undefined,
    },
    sessions: {
      idleTimeoutSeconds: e.SESSION_IDLE_TIMEOUT_SECONDS,
      maxLifetimeSeconds: e.SESSION_MAX_LIFETIME_SECONDS ?? e.SESSION_TTL_SECONDS ?? 12 * 3600,
      sweepIntervalSeconds: e.SESSION_SWEEP_INTERVAL_SECONDS,
    },
    outbound: {
      allowPrivateHosts: e.ALLOW_PRIVATE_OUTBOUND_HOSTS ?? [],
      backchannel: {
        timeoutMs: e.BACKCHANNEL_TIMEOUT_MS,
        retryBaseSeconds: e.BACKCHANNEL_RETRY_BASE_SECONDS,
        retryMaxSeconds: e.BACKCHANNEL_RETRY_MAX_SECONDS,
        intervalSeconds: e.BACKCHANNEL_OUTBOX_INTERVAL_SECONDS,
      },
    },
    compliance: {
      auditRetentionDays: e.AUDIT_RETENTION_DAYS,
      bankidSwedenConnectCertified: e.BANKID_SWEDEN_CONNECT_CERTIFIED,
    },
    guessing: {
      codeMaxFailuresPerAddress: e.CODE_MAX_FAILURES_PER_ADDRESS,
      deviceCookieDays: e.DEVICE_COOKIE_DAYS,
      authNewInteractionsPerIpMinute: e.AUTH_NEW_INTERACTIONS_PER_IP_MINUTE,
      authNewInteractionsPerClientMinute: e.AUTH_NEW_INTERACTIONS_PER_CLIENT_MINUTE,
    },
    availability: {
      dbAcquireTimeoutMs: e.DB_ACQUIRE_TIMEOUT_MS,
      dbStatementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
      requestDeadlineMs: e.REQUEST_DEADLINE_MS,
      readyTimeoutMs: e.READY_TIMEOUT_MS,
      retryAfterSeconds: e.RETRY_AFTER_SECONDS,
    },
    operations: {
      keyEncryptionKey: e.KEY_ENCRYPTION_KEY,
      shutdownDrainSeconds: e.SHUTDOWN_DRAIN_SECONDS,
      shutdownGraceSeconds: e.SHUTDOWN_GRACE_SECONDS,
    },
    playground: { enabled: e.PLAYGROUND_ENABLED ?? !production },
    metrics: { port: e.METRICS_PORT, token: e.METRICS_TOKEN },
    admin: { secretGraceSeconds: e.CLIENT_SECRET_GRACE_SECONDS, requestsPerMinute: e.ADMIN_API_REQUESTS_PER_MINUTE },
  };
  // An upstream's own timeout must fire first, so its failure page is shown rather than "try again shortly".
  const timeouts = brokerTimeouts(config.brokers);
  const upstreamMs = Math.max(0, ...timeouts.map((t) => t.ms));
  if (config.availability.requestDeadlineMs <= upstreamMs) {
    const names = timeouts.map((t) => t.variable);
    throw new ConfigError([`REQUEST_DEADLINE_MS: must be longer than ${[names.slice(0, -1).join(', '), names.at(-1)].filter(Boolean).join(' and ')} (${upstreamMs} ms)`]);
  }
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
  found.push(...brokerRefusals(config.brokers));
  return found;
}

/** Kept for main.ts: the development-only settings in use (the list production refuses). */
export const developmentDefaults = productionRefusals;

/** Settings production accepts but an operator should hear about at start-up. */
export function productionWarnings(config: Config): string[] {
  if (config.nodeEnv !== 'production' || config.databaseUrl) return [];
  return [`DATABASE_URL=sqlite://${config.deployment.sqliteFile}: SQLite serves one instance only; use PostgreSQL to run more than one`];
}
