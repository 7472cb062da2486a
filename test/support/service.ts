/**
 * Starts real service instances on loopback for black-box tests, with a test clients file and a shared
 * database, exactly as main.ts wires them.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { createService, type Service } from '../../src/service/index.js';
import type { Clock } from '../../src/clock.js';
import type { Database } from '../../src/store/db.js';
import type { ClientMetadata } from '../../src/provider/clients-file.js';

export const CONFIDENTIAL_SECRET = 'test-secret-0123456789abcdef0123456789';
export const RP = 'http://127.0.0.1:8999/callback';

export const testClients: ClientMetadata[] = [
  {
    client_id: 'conf',
    client_secret: CONFIDENTIAL_SECRET,
    client_name: 'Confidential RP',
    redirect_uris: [RP],
    post_logout_redirect_uris: ['http://127.0.0.1:8999/logged-out'],
    grant_types: ['authorization_code', 'refresh_token'],
    scope: 'openid email profile offline_access',
  },
  {
    client_id: 'pub',
    client_name: 'Public RP',
    redirect_uris: [RP],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'none',
    scope: 'openid email profile offline_access',
    skip_consent: true,
  },
  {
    client_id: 'pairwise',
    client_secret: CONFIDENTIAL_SECRET,
    client_name: 'Pairwise RP',
    redirect_uris: [RP],
    subject_type: 'pairwise',
    skip_consent: true,
  },
  {
    client_id: 'machine',
    client_secret: CONFIDENTIAL_SECRET,
    client_name: 'Machine client',
    grant_types: ['client_credentials'],
    scope: 'openid',
  },
];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Temp folders this test file made; removed when the file's tests are done (tests reuse a clients file across restarts). */
const madeDirs: string[] = [];
afterAll(() => {
  for (const dir of madeDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

export function writeClientsFile(clients: ClientMetadata[] = testClients): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nordlys-clients-'));
  madeDirs.push(dir);
  const file = path.join(dir, 'clients.json');
  fs.writeFileSync(file, JSON.stringify({ clients }));
  return file;
}

export interface RunningService {
  service: Service;
  url: string;
  config: Config;
  logs: string[];
  close(): Promise<void>;
}

/**
 * Starts an instance on 127.0.0.1. `issuerPort` lets a second instance share the first one's issuer;
 * `port` is one chosen beforehand (an upstream mock registered its redirect URI on it).
 * Without `db` the instance opens its own database from the config (DATABASE_URL or DATA_DIR), as main.ts does.
 */
export async function startService(opts: {
  db?: Database;
  clock?: Clock;
  env?: Record<string, string>;
  clientsFile?: string;
  issuerPort?: number;
  port?: number;
}): Promise<RunningService> {
  const port = opts.port ?? (await freePort());
  const issuerPort = opts.issuerPort ?? port;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nordlys-data-'));
  madeDirs.push(dataDir);
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: String(port),
    ISSUER: `http://127.0.0.1:${issuerPort}`,
    CLIENTS_FILE: opts.clientsFile ?? writeClientsFile(),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    // A loaded CI machine must not turn slow answers into 503s; tests of the deadline set their own.
    REQUEST_DEADLINE_MS: '60000',
    ...opts.env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const service = await createService({ config, logger: createLogger(config.logLevel, sink), db: opts.db, ...(opts.clock ? { clock: opts.clock } : {}) });
  const { url } = await service.listen();
  return { service, url, config, logs, close: () => service.close() };
}
