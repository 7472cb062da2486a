/**
 * Where the service runs: the mode, the listener, the public issuer URL, where it keeps its data and its
 * clients file, the largest form body, and the proxies it believes. Rules: the issuer never ends in a
 * slash; DATABASE_URL=sqlite:///path names the SQLite file outright (then databaseUrl is undefined);
 * TRUSTED_PROXIES is parsed into canonical entries, each bad one named; the old TRUST_PROXY is refused.
 */
import path from 'node:path';
import { z } from 'zod';
import { parseProxyList } from '../http/client-address.js';
import type { EnvOf } from './fields.js';

export type NodeEnv = 'development' | 'production' | 'test';

export interface DeploymentConfig {
  nodeEnv: NodeEnv;
  host: string;
  port: number;
  issuer: string;
  logLevel: string;
  dataDir: string;
  /** PostgreSQL connection string; undefined means SQLite (deployment.sqliteFile). */
  databaseUrl: string | undefined;
  clientsFile: string;
  bodyLimitBytes: number;
  /** Where the service runs: the proxies it believes and the SQLite file it uses without PostgreSQL. */
  deployment: {
    /** TRUSTED_PROXIES entries, canonical (src/http/client-address.ts); empty: no proxy is believed. */
    trustedProxies: string[];
    /** The SQLite file: from DATABASE_URL=sqlite:///path, else nordlys.sqlite in dataDir. */
    sqliteFile: string;
    /** True when DATABASE_URL names the store outright (postgres:// or sqlite://). */
    databaseChosen: boolean;
  };
}

export const deploymentEnv = {
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
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(1048576).default(65536),
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
};

export function readDeployment(e: EnvOf<typeof deploymentEnv>): DeploymentConfig {
  return {
    nodeEnv: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    issuer: (e.ISSUER ?? `http://localhost:${e.PORT}`).replace(/\/$/, ''),
    logLevel: e.LOG_LEVEL,
    dataDir: path.resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL?.startsWith('sqlite:') ? undefined : e.DATABASE_URL,
    clientsFile: path.resolve(e.CLIENTS_FILE),
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    deployment: {
      trustedProxies: e.TRUSTED_PROXIES ?? [],
      sqliteFile: e.DATABASE_URL?.startsWith('sqlite://')
        ? path.resolve(e.DATABASE_URL.slice('sqlite://'.length))
        : path.join(path.resolve(e.DATA_DIR), 'nordlys.sqlite'),
      databaseChosen: e.DATABASE_URL !== undefined,
    },
  };
}
