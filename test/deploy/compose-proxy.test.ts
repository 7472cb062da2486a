/**
 * Static checks that `docker compose up` serves the service as shipped (no Docker engine needed):
 * a pinned Caddy in front terminating TLS with its internal CA on the ISSUER from .env, the service
 * believing forwarded headers from that proxy's fixed address only, every image pinned by version,
 * only the proxy's port and Mailpit's web UI published, and the CLI on the image's PATH.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { appRoot } from '../../src/app-root.js';
import { loadConfig } from '../../src/config/index.js';

const root = appRoot();
const read = (file: string): string => fs.readFileSync(path.join(root, file), 'utf8');

type Dict = Record<string, unknown>;
const compose = parse(read('docker-compose.yml')) as { services: Record<string, Dict>; networks: Record<string, Dict | null> };
const services = compose.services;
const env = (name: string): Record<string, string> => Object.fromEntries(Object.entries((services[name]!.environment ?? {}) as Dict).map(([k, v]) => [k, String(v)]));
/** Compose interpolation: `${VAR:-default}` without .env gives the default; `${VAR:?…}` the given value. */
const interpolate = (value: string, vars: Record<string, string> = {}) =>
  value.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::?([?-])([^}]*))?\}/g, (_m, name: string, kind?: string, arg?: string) => vars[name] || (kind === '-' ? (arg ?? '') : ''));
const networksOf = (name: string): string[] => {
  const n = services[name]!.networks;
  return Array.isArray(n) ? n.map(String) : Object.keys((n ?? {}) as Dict);
};
const published = (name: string): string[] => ((services[name]!.ports ?? []) as unknown[]).map(String);
const proxyName = Object.keys(services).find((n) => String(services[n]!.image).startsWith('caddy:'))!;
const proxy = services[proxyName]!;

/** Whether an IPv4 address lies in a CIDR range. */
function inSubnet(address: string, cidr: string): boolean {
  const toInt = (a: string) => a.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toInt(address) / size) === Math.floor(toInt(base!) / size);
}

describe('the TLS-terminating proxy in docker-compose.yml', () => {
  const nordlysEnv = env('nordlys');

  test('is Caddy, pinned, with the repository Caddyfile mounted read-only and its CA kept in a volume', () => {
    expect(proxy.image).toMatch(/^caddy:2\.\d+\.\d+(-alpine)?$/);
    const volumes = (proxy.volumes as string[]).map(String);
    expect(volumes).toContain('./deploy/Caddyfile:/etc/caddy/Caddyfile:ro');
    expect(volumes.some((v) => v.endsWith(':/data'))).toBe(true);
  });

  test('the service and the proxy share ISSUER from .env, defaulting to https://localhost:8443', () => {
    expect(nordlysEnv.ISSUER).toBe('${ISSUER:-https://localhost:8443}');
    expect(env(proxyName).ISSUER).toBe(nordlysEnv.ISSUER);
    expect(read('.env.example')).toMatch(/^ISSUER=https:\/\/localhost:8443$/m);
    expect(read('.env.example')).toMatch(/^CLIENTS_FILE=\S+$/m);
    // The issuer's port is the one the proxy publishes and listens on.
    const issuer = new URL(interpolate(nordlysEnv.ISSUER!));
    expect(published(proxyName)).toEqual([`${issuer.port}:${issuer.port}`]);
  });

  test('TRUSTED_PROXIES is the proxy\'s fixed address on the edge network, which only proxy and service join', () => {
    const edge = Object.entries(proxy.networks as Dict);
    expect(edge).toHaveLength(1);
    const [edgeName, settings] = edge[0]!;
    const address = String((settings as Dict).ipv4_address);
    expect(nordlysEnv.TRUSTED_PROXIES).toBe(address);
    const subnet = String(((compose.networks[edgeName]!.ipam as Dict).config as Dict[])[0]!.subnet);
    expect(inSubnet(address, subnet)).toBe(true);
    const onEdge = Object.keys(services).filter((n) => networksOf(n).includes(edgeName));
    expect(onEdge.sort()).toEqual(['nordlys', proxyName].sort());
    // The service reads it as exactly that one address.
    const config = loadConfig({ NODE_ENV: 'test', TRUSTED_PROXIES: nordlysEnv.TRUSTED_PROXIES! });
    expect(config.deployment.trustedProxies.map(String)).toEqual([expect.stringContaining(address)]);
  });

  test('only the proxy and Mailpit\'s web UI are published: not the service, PostgreSQL or SMTP', () => {
    const all = Object.keys(services).flatMap((n) => published(n).map((p) => `${n} ${p}`));
    expect(all.sort()).toEqual([`${proxyName} 8443:8443`, 'mailpit 8025:8025'].sort());
  });

  test('every image is pinned by version', () => {
    const images = Object.fromEntries(Object.entries(services).map(([n, s]) => [n, String(s.image)]));
    expect(images.postgres).toMatch(/^postgres:16\.\d+(-\w+)?$/);
    expect(images.mailpit).toMatch(/^axllent\/mailpit:v1\.\d+\.\d+$/);
    expect(images[proxyName]).toMatch(/^caddy:2\.\d+\.\d+/);
    const froms = [...read('Dockerfile').matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from).toMatch(/^node:22\.\d+\.\d+-bookworm-slim$/);
    expect(new Set(froms).size).toBe(1);
  });
});

describe('deploy/Caddyfile', () => {
  const caddyfile = read('deploy/Caddyfile').replace(/#.*$/gm, '');
  const nordlysEnv = env('nordlys');

  test('serves ISSUER (same default as compose) with the internal CA and no admin endpoint', () => {
    const site = /^\{\$ISSUER:([^}]+)\}\s*\{/m.exec(caddyfile);
    expect(site?.[1]).toBe(interpolate(nordlysEnv.ISSUER!));
    expect(caddyfile).toMatch(/^\s*tls internal\s*$/m);
    expect(caddyfile).toMatch(/^\s*admin off\s*$/m);
  });

  test('forwards to the service on its compose name and PORT', () => {
    const target = /^\s*reverse_proxy\s+(\S+)/m.exec(caddyfile)?.[1];
    expect(target).toBe(`nordlys:${nordlysEnv.PORT}`);
  });
});

describe('the CLI on the image\'s PATH', () => {
  test('the Dockerfile installs deploy/nordlys as /usr/local/bin/nordlys, which runs the bin of package.json', () => {
    expect(read('Dockerfile')).toMatch(/^COPY --chmod=755 deploy\/nordlys \/usr\/local\/bin\/nordlys$/m);
    expect(fs.statSync(path.join(root, 'deploy/nordlys')).mode & 0o111).toBeTruthy();
    const bin = (JSON.parse(read('package.json')) as { bin: Record<string, string> }).bin.nordlys!;
    expect(bin).toBe('dist/src/cli/index.js');
    expect(read('deploy/nordlys')).toContain(`exec node /app/${bin} "$@"`);
    expect(read('src/cli/index.ts').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  test('the image starts node on the compiled server directly, and builds nothing at run time', () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/src\/main.js"\]$/m);
    expect(JSON.parse(read('package.json')).scripts.start).not.toMatch(/build|tsc/);
  });
});
