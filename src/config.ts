/**
 * The one validated configuration object. Rules enforced here:
 * - every setting comes from the environment (or a default) and is validated once, at start-up;
 * - a bad value stops start-up with a message that names the variable;
 * - in production the service refuses development defaults (generated secrets, mocks on by default,
 *   mail to the outbox, an http issuer) and says which ones it found.
 * No other module reads process.env.
 */
import path from 'node:path';
import { z } from 'zod';

export type NodeEnv = 'development' | 'production' | 'test';

export interface Config {
  nodeEnv: NodeEnv;
  host: string;
  port: number;
  issuer: string;
  trustProxy: boolean;
  logLevel: string;
  dataDir: string;
  /** PostgreSQL connection string; undefined means the embedded SQLite database in dataDir. */
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
  idporten: {
    /** The upstream issuer; undefined means the built-in mock when mocks are on, else no ID-porten. */
    issuer: string | undefined;
    clientId: string;
    clientSecret: string | undefined;
    authMethod: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
    /** A private JWK (JSON) for private_key_jwt. */
    privateKey: string | undefined;
    timeoutMs: number;
  };
  bankid: {
    /** The RP API v6.0 base URL; undefined means the built-in mock when mocks are on, else no BankID. */
    baseUrl: string | undefined;
    /** The relying-party certificate (PKCS#12 file) and its passphrase, and BankID's CA (PEM file). */
    pfxFile: string | undefined;
    passphrase: string | undefined;
    caFile: string | undefined;
    timeoutMs: number;
  };
  ttl: {
    interactionSeconds: number;
    sessionSeconds: number;
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
  /** The integrator playground at /playground (src/playground/): on in development, opt-in in production. */
  playground: { enabled: boolean };
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
  /** Local accounts without a login for this long are deleted (a tombstone keeps the sub). */
  retentionDays: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n - ${problems.join('\n - ')}`);
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
  TRUST_PROXY: bool.default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
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
  IDPORTEN_ISSUER: z.url({ message: 'must be an absolute URL' }).optional(),
  IDPORTEN_CLIENT_ID: z.string().min(1).default('nordlys-dev'),
  IDPORTEN_CLIENT_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  IDPORTEN_AUTH_METHOD: z.enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt']).default('client_secret_basic'),
  IDPORTEN_PRIVATE_KEY: z.string().min(2).optional(),
  BANKID_BASE_URL: z.url({ message: 'must be an absolute URL' }).optional(),
  BANKID_PFX_FILE: z.string().min(1).optional(),
  BANKID_PASSPHRASE: z.string().optional(),
  BANKID_CA_FILE: z.string().min(1).optional(),
  BANKID_TIMEOUT_MS: z.coerce.number().int().min(100).max(120000).default(10000),
  IDPORTEN_TIMEOUT_MS: z.coerce.number().int().min(100).max(120000).default(10000),
  INTERACTION_TTL_SECONDS: seconds.default(3600),
  SESSION_TTL_SECONDS: seconds.default(8 * 3600),
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
  // --- playground ---
  PLAYGROUND_ENABLED: bool.optional(),
});

/** Parse and validate the environment into a Config. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const emptyAsMissing = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(emptyAsMissing);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('') || 'environment'}: ${i.message}`));
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const issuer = (e.ISSUER ?? `http://localhost:${e.PORT}`).replace(/\/$/, '');
  const config: Config = {
    nodeEnv: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    issuer,
    trustProxy: e.TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
    dataDir: path.resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    clientsFile: path.resolve(e.CLIENTS_FILE),
    secrets: { cookieKeys: e.COOKIE_KEYS, dpopNonceSecret: e.DPOP_NONCE_SECRET, pairwiseSalt: e.PAIRWISE_SALT, codeHmacSecret: e.CODE_HMAC_SECRET },
    mail: { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM },
    mocksEnabled: e.MOCKS_ENABLED ?? !production,
    idporten: {
      issuer: e.IDPORTEN_ISSUER?.replace(/\/$/, ''),
      clientId: e.IDPORTEN_CLIENT_ID,
      clientSecret: e.IDPORTEN_CLIENT_SECRET,
      authMethod: e.IDPORTEN_AUTH_METHOD,
      privateKey: e.IDPORTEN_PRIVATE_KEY,
      timeoutMs: e.IDPORTEN_TIMEOUT_MS,
    },
    bankid: {
      baseUrl: e.BANKID_BASE_URL?.replace(/\/$/, ''),
      pfxFile: e.BANKID_PFX_FILE ? path.resolve(e.BANKID_PFX_FILE) : undefined,
      passphrase: e.BANKID_PASSPHRASE,
      caFile: e.BANKID_CA_FILE ? path.resolve(e.BANKID_CA_FILE) : undefined,
      timeoutMs: e.BANKID_TIMEOUT_MS,
    },
    ttl: {
      interactionSeconds: e.INTERACTION_TTL_SECONDS,
      sessionSeconds: e.SESSION_TTL_SECONDS,
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
    playground: { enabled: e.PLAYGROUND_ENABLED ?? !production },
  };
  if (production) {
    const defaults = developmentDefaults(config);
    if (defaults.length > 0) {
      throw new ConfigError(defaults.map((d) => `NODE_ENV=production refuses a development default: ${d}`));
    }
  }
  return config;
}

/** The config of this process, from its environment: the one place the environment is read. */
export function loadConfigFromEnvironment(): Config {
  return loadConfig(process.env);
}

/** The development defaults in use, each named by the variable that replaces it. */
export function developmentDefaults(config: Config): string[] {
  const found: string[] = [];
  if (!config.secrets.cookieKeys) found.push('COOKIE_KEYS is not set (cookie keys would be generated)');
  if (!config.secrets.dpopNonceSecret) found.push('DPOP_NONCE_SECRET is not set (it would be generated)');
  if (!config.secrets.pairwiseSalt) found.push('PAIRWISE_SALT is not set (it would be generated)');
  if (!config.secrets.codeHmacSecret) found.push('CODE_HMAC_SECRET is not set (it would be generated)');
  if (!config.mail.smtpUrl) found.push('SMTP_URL is not set (mail would go to the development outbox)');
  if (!config.issuer.startsWith('https://')) found.push(`ISSUER is ${config.issuer} (production needs an https issuer)`);
  if (config.bankid.baseUrl && (!config.bankid.baseUrl.startsWith('https://') || !config.bankid.pfxFile)) {
    found.push('BANKID_BASE_URL needs https and BANKID_PFX_FILE (BankID requires mutual TLS)');
  }
  if (config.idporten.issuer && !config.idporten.issuer.startsWith('https://')) {
    found.push(`IDPORTEN_ISSUER is ${config.idporten.issuer} (production talks to ID-porten over https)`);
  }
  if (config.idporten.issuer && config.idporten.authMethod !== 'private_key_jwt' && !config.idporten.clientSecret) {
    found.push('IDPORTEN_CLIENT_SECRET is not set (it would be generated, and the real ID-porten would refuse it)');
  }
  return found;
}
