/**
 * Static checks on the container files (no Docker engine needed): docker-compose.yml, Dockerfile,
 * .dockerignore and .env.example agree with each other and with what the service expects.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { execFileSync } from 'node:child_process';
import { loadConfig } from '../../src/config/index.js';
import { RECOMMENDED_GLIBC_TUNABLES, RECOMMENDED_NODE_FLAGS } from '../../src/config/operations.js';
import { readClientsFile } from '../../src/provider/clients-file.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (file: string): string => fs.readFileSync(path.join(root, file), 'utf8');

/** The environment variables the service reads (src/config/). */
const KNOWN_ENV = [
  'NODE_ENV',
  'HOST',
  'PORT',
  'ISSUER',
  'TRUSTED_PROXIES',
  'DATABASE_URL',
  'DATA_DIR',
  'CLIENTS_FILE',
  'COOKIE_KEYS',
  'DPOP_NONCE_SECRET',
  'PAIRWISE_SALT',
  'CODE_HMAC_SECRET',
  'KEY_ENCRYPTION_KEY',
  'METRICS_TOKEN',
  'SMTP_URL',
  'MAIL_FROM',
  'LOG_LEVEL',
  // Read by glibc when node starts (README "Memory"); the config only passes it on to cluster workers.
  'MALLOC_MMAP_THRESHOLD_',
  // Likewise by glibc: malloc's huge-page tunable for those buffers (README "Memory").
  'GLIBC_TUNABLES',
  // Read by node when it starts: the V8 heap flags (README "Memory"); passed on to cluster workers.
  'NODE_OPTIONS',
];
const REQUIRED_SECRETS = ['COOKIE_KEYS', 'DPOP_NONCE_SECRET', 'PAIRWISE_SALT', 'CODE_HMAC_SECRET', 'KEY_ENCRYPTION_KEY'];
/** Paths the runtime image needs from the repository besides the compiled dist/. */
const RUNTIME_DIRS = ['views', 'public', 'config'];

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);

function dict(v: unknown, what: string): Dict {
  if (!isDict(v)) throw new Error(`${what} is not a mapping`);
  return v;
}

/** Compose `environment` in either form (mapping or list of KEY=VALUE) as a string map. */
function environment(service: Dict): Record<string, string> {
  const env = service['environment'];
  if (env === undefined) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const s = String(entry);
        const eq = s.indexOf('=');
        return eq === -1 ? [s, ''] : [s.slice(0, eq), s.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(dict(env, 'environment')).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** Compose healthcheck `test` as one string (CMD / CMD-SHELL arrays or a plain string). */
function healthcheckTest(service: Dict): string {
  const hc = service['healthcheck'];
  if (!isDict(hc)) return '';
  const test = hc['test'];
  return Array.isArray(test) ? test.map(String).join(' ') : String(test ?? '');
}

/** depends_on in either form, as service name → condition (short form means service_started). */
function dependsOn(service: Dict): Record<string, string> {
  const deps = service['depends_on'];
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [String(d), 'service_started']));
  if (!isDict(deps)) return {};
  return Object.fromEntries(
    Object.entries(deps).map(([name, v]) => [name, isDict(v) ? String(v['condition'] ?? 'service_started') : 'service_started']),
  );
}

/**
 * Compose interpolation of `${VAR}`, `${VAR:-default}` and `${VAR:?message}` from `vars`: a missing
 * variable with a default takes the default, otherwise the empty string.
 */
function interpolate(value: string, vars: Record<string, string> = {}): string {
  return value.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::?([?-])([^}]*))?\}/g, (_m, name: string, kind?: string, arg?: string) =>
    vars[name] || (kind === '-' ? (arg ?? '') : ''),
  );
}

/** Name of the one service whose image starts with the given repository name. */
function serviceByImage(services: Dict, image: string): string {
  const names = Object.entries(services)
    .filter(([, s]) => isDict(s) && typeof s['image'] === 'string' && (s['image'] === image || s['image'].startsWith(`${image}:`)))
    .map(([name]) => name);
  expect(names).toHaveLength(1);
  return names[0]!;
}

const compose = dict(parse(read('docker-compose.yml')), 'docker-compose.yml');
const services = dict(compose['services'], 'services');
const nordlys = dict(services['nordlys'], 'services.nordlys');
const nordlysEnv = environment(nordlys);

describe('docker-compose.yml', () => {
  const postgresName = serviceByImage(services, 'postgres');
  const mailName = serviceByImage(services, 'axllent/mailpit');
  const postgres = dict(services[postgresName], postgresName);

  test('nordlys builds from the repository root and tags the image', () => {
    const build = nordlys['build'];
    const context = isDict(build) ? build['context'] : build;
    expect(context).toBe('.');
    expect(nordlys['image']).toBe('nordlys-id:latest');
    // Only the proxy is published; the service is reached through it (compose-proxy.test.ts).
    expect(nordlys['ports']).toBeUndefined();
  });

  test('DATABASE_URL points at the postgres service with its user, password and database', () => {
    const pgEnv = environment(postgres);
    const url = new URL(nordlysEnv['DATABASE_URL'] ?? '');
    expect(url.protocol).toMatch(/^postgres(ql)?:$/);
    expect(url.hostname).toBe(postgresName);
    expect(url.port === '' || url.port === '5432').toBe(true);
    expect(decodeURIComponent(url.username)).toBe(pgEnv['POSTGRES_USER']);
    expect(decodeURIComponent(url.password)).toBe(pgEnv['POSTGRES_PASSWORD']);
    expect(url.pathname).toBe(`/${pgEnv['POSTGRES_DB']}`);
  });

  test('postgres has a pg_isready healthcheck and nordlys waits for it to be healthy', () => {
    expect(healthcheckTest(postgres)).toContain('pg_isready');
    expect(dependsOn(nordlys)[postgresName]).toBe('service_healthy');
  });

  test('SMTP_URL points at the mail catcher on its SMTP port, whose web UI is published', () => {
    const url = new URL(nordlysEnv['SMTP_URL'] ?? '');
    expect(url.protocol).toBe('smtp:');
    expect(url.hostname).toBe(mailName);
    expect(url.port).toBe('1025');
    expect(dict(services[mailName], mailName)['ports']).toEqual(expect.arrayContaining([expect.stringMatching(/:8025$/)]));
  });

  test('nordlys has a healthcheck that asks /readyz with node (the slim image has no curl)', () => {
    const test = healthcheckTest(nordlys);
    expect(test).toContain('/readyz');
    expect(test).toMatch(/\bnode\b/);
    expect(test).not.toMatch(/\b(curl|wget)\b/);
  });

  test('every variable given to nordlys is one the service reads', () => {
    const configSource = fs.readdirSync(path.join(root, 'src/config')).map((file) => read(`src/config/${file}`)).join('\n');
    for (const name of Object.keys(nordlysEnv)) {
      expect(KNOWN_ENV).toContain(name);
      // The list above must stay in step with the schemas in src/config/.
      expect(configSource).toMatch(new RegExp(`\\b${name}:`));
    }
  });

  test('the secrets are required through ${VAR:?message}, so compose refuses to start without them', () => {
    for (const name of REQUIRED_SECRETS) {
      expect(nordlysEnv[name]).toMatch(new RegExp(`^\\$\\{${name}:\\?.+\\}$`));
    }
  });

  test('production configuration accepts the compose environment (issuer https, secrets given)', () => {
    const filled: Record<string, string> = {
      COOKIE_KEYS: 'a'.repeat(64),
      DPOP_NONCE_SECRET: 'b'.repeat(64),
      PAIRWISE_SALT: 'c'.repeat(64),
      CODE_HMAC_SECRET: 'd'.repeat(64),
      KEY_ENCRYPTION_KEY: 'e'.repeat(64),
    };
    const interpolated = Object.fromEntries(Object.entries(nordlysEnv).map(([k, v]) => [k, interpolate(v, filled)]));
    const config = loadConfig({ ...dockerfileEnv(runtimeStage()), ...interpolated });
    expect(config.nodeEnv).toBe('production');
    expect(config.host).toBe('0.0.0.0');
    expect(config.issuer).toMatch(/^https:\/\//);
    expect(config.deployment.trustedProxies.length).toBeGreaterThan(0);
    expect(config.databaseUrl).toBeDefined();
  });

  test('nordlys reads a clients file mounted read-only at the path the image reads, not the examples', () => {
    // CLIENTS_FILE from compose, else the image's ENV, else the default of src/config/deployment.ts.
    const configured = nordlysEnv['CLIENTS_FILE'] ?? dockerfileEnv(runtimeStage())['CLIENTS_FILE'] ?? './config/clients.json';
    expect(read('src/config/deployment.ts')).toContain(`CLIENTS_FILE: z.string().min(1).default('./config/clients.json')`);
    const imagePath = path.posix.resolve(workdir(runtimeStage()), configured);
    const mounts = ((nordlys['volumes'] ?? []) as unknown[]).map((m) => interpolate(String(m)));
    const mount = mounts.find((m) => m.split(':')[1] === imagePath);
    expect(mount).toBeDefined();
    const [source, , mode] = mount!.split(':');
    expect(mode).toBe('ro');
    expect(path.posix.normalize(source!)).not.toBe('config/clients.json');
  });
});

describe('.env.example', () => {
  const example = read('.env.example');

  test('documents every secret compose requires and how to generate it', () => {
    for (const name of REQUIRED_SECRETS) expect(example).toMatch(new RegExp(`^${name}=`, 'm'));
    expect(example).toContain('openssl rand -hex 32');
  });

  test('names only variables the service reads', () => {
    const names = [...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
    for (const name of names) expect(KNOWN_ENV).toContain(name);
  });
});

// ---------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  args: string;
  line: number;
}

/**
 * Splits a Dockerfile into instructions the way the builder does: parser directives at the top,
 * comment lines dropped, lines ending in the escape character joined with the next line, and
 * comment or empty lines inside a continuation skipped. Heredocs are not supported (none used).
 */
function parseDockerfile(text: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  let escape = '\\';
  let i = 0;
  // Parser directives: only at the very top, before any other comment, blank line or instruction.
  for (; i < lines.length; i++) {
    const m = /^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$/.exec(lines[i]!);
    if (!m) break;
    if (m[1]!.toLowerCase() === 'escape') escape = m[2]!;
  }
  const instructions: Instruction[] = [];
  let current: { parts: string[]; line: number } | undefined;
  for (; i < lines.length; i++) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (current) {
      if (trimmed === '' || trimmed.startsWith('#')) continue;
    } else if (trimmed === '' || trimmed.startsWith('#')) {
      continue;
    }
    const continues = trimmed.endsWith(escape);
    const body = continues ? trimmed.slice(0, -escape.length).trimEnd() : trimmed;
    if (!current) current = { parts: [], line: i + 1 };
    current.parts.push(body);
    if (!continues) {
      const joined = current.parts.join(' ').trim();
      const space = joined.search(/\s/);
      instructions.push({
        keyword: (space === -1 ? joined : joined.slice(0, space)).toUpperCase(),
        args: space === -1 ? '' : joined.slice(space + 1).trim(),
        line: current.line,
      });
      current = undefined;
    }
  }
  if (current) throw new Error(`Dockerfile ends inside a continuation (from line ${current.line})`);
  return instructions;
}

/** Splits shell-form arguments on whitespace, keeping quoted strings together (quotes removed). */
function words(args: string): string[] {
  return [...args.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** COPY/ADD: leading --flags, then sources and a destination (JSON or shell form). */
function copyArgs(args: string): { flags: Record<string, string>; sources: string[]; dest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (let m = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest); m; m = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest)) {
    flags[m[1]!] = m[2] ?? 'true';
    rest = rest.slice(m[0].length);
  }
  const all = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : words(rest);
  return { flags, sources: all.slice(0, -1), dest: all[all.length - 1]! };
}

/** ENV in both forms: `ENV A=1 B="two words"` and the legacy `ENV KEY value`. */
function envArgs(args: string): Record<string, string> {
  const tokens = words(args);
  if (tokens.length > 0 && !tokens[0]!.includes('=')) {
    return { [tokens[0]!]: args.slice(args.indexOf(tokens[0]!) + tokens[0]!.length).trim() };
  }
  return Object.fromEntries(
    [...args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)].map((m) => [m[1]!, m[2]!.replace(/^(["'])(.*)\1$/, '$2')]),
  );
}

interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

function stages(instructions: Instruction[]): Stage[] {
  const result: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`unreadable FROM on line ${ins.line}`);
      result.push({ from: m[1]!, name: m[2], instructions: [] });
    } else if (result.length > 0) {
      result[result.length - 1]!.instructions.push(ins);
    } else if (ins.keyword !== 'ARG') {
      throw new Error(`${ins.keyword} before the first FROM (line ${ins.line})`);
    }
  }
  return result;
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const allStages = stages(dockerfile);
const runtimeStage = (): Stage => allStages[allStages.length - 1]!;
const last = (stage: Stage, keyword: string): Instruction | undefined =>
  stage.instructions.filter((i) => i.keyword === keyword).pop();
const dockerfileEnv = (stage: Stage): Record<string, string> =>
  Object.assign({}, ...stage.instructions.filter((i) => i.keyword === 'ENV').map((i) => envArgs(i.args))) as Record<string, string>;
const workdir = (stage: Stage): string => last(stage, 'WORKDIR')?.args ?? '/';

// ---------------------------------------------------------------------------------------------
// .dockerignore (the subset of its syntax this repository uses: globs, **, ! exceptions)

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      re += '.*';
      i++;
      if (pattern[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // A pattern that matches a directory excludes everything below it.
  return new RegExp(`^${re}(/.*)?$`);
}

const ignoreRules = read('.dockerignore')
  .split(/\r?\n/)
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'))
  .map((l) => {
    const negate = l.startsWith('!');
    const pattern = path.posix.normalize((negate ? l.slice(1) : l).trim()).replace(/^\/+|\/+$/g, '');
    return { negate, re: globToRegExp(pattern) };
  });

/** Whether the build context leaves out this path (relative to the repository root). Last rule wins. */
function ignored(file: string): boolean {
  const p = path.posix.normalize(file).replace(/^\.\/|\/+$/g, '');
  let result = false;
  for (const rule of ignoreRules) if (rule.re.test(p)) result = !rule.negate;
  return result;
}

describe('Dockerfile', () => {
  const runtime = runtimeStage();

  test('every stage is based on Node 22', () => {
    expect(allStages.length).toBeGreaterThanOrEqual(2);
    for (const stage of allStages) expect(stage.from).toMatch(/^node:22([.-]|$)/);
  });

  test('the build stage installs every dependency and compiles', () => {
    const build = allStages[0]!;
    const runs = build.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /\bnpm (ci|install)\b/.test(r) && !/--omit[= ]dev|--production\b/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm run build\b/.test(r))).toBe(true);
  });

  test('the runtime stage installs production dependencies only', () => {
    const runs = runtime.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /\bnpm (ci|install)\b.*--omit[= ]dev\b/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm (i|install|ci)\b/.test(r) && !/--omit[= ]dev\b/.test(r))).toBe(false);
  });

  test('the runtime stage sets the production environment and listens on all interfaces', () => {
    const env = dockerfileEnv(runtime);
    expect(env).toMatchObject({ NODE_ENV: 'production', HOST: '0.0.0.0', PORT: '3000' });
    for (const name of Object.keys(env)) expect(KNOWN_ENV).toContain(name);
    // argon2id's 19 MiB buffers go back to the system when freed (README "Memory").
    expect(env.MALLOC_MMAP_THRESHOLD_).toBe('131072');
    // And come back in transparent huge pages, not page by page (src/config/operations.ts).
    expect(env.GLIBC_TUNABLES).toBe(RECOMMENDED_GLIBC_TUNABLES);
    // And the V8 heap flags every start path sets (src/config/operations.ts), as NODE_OPTIONS, which an operator may replace.
    expect(env.NODE_OPTIONS).toBe(RECOMMENDED_NODE_FLAGS.join(' '));
    expect(last(runtime, 'CMD')?.args).toBe('["node", "dist/src/main.js"]');
  });

  test('the service runs as a non-root user', () => {
    const user = last(runtime, 'USER')?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
  });

  test('the data folder exists and belongs to the service user', () => {
    const env = dockerfileEnv(runtime);
    const dataDir = path.posix.resolve(workdir(runtime), env['DATA_DIR'] ?? './data');
    expect(dataDir).toBe('/app/data');
    const user = last(runtime, 'USER')!.args.split(':')[0]!;
    const runs = runtime.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs.some((r) => r.includes(`mkdir -p ${dataDir}`) && new RegExp(`chown (-R )?${user}(:\\S+)? ${dataDir}`).test(r))).toBe(true);
  });

  test('it exposes port 3000', () => {
    expect(last(runtime, 'EXPOSE')?.args.split(/\s+/)).toContain('3000');
  });

  test('the healthcheck asks /healthz with node', () => {
    const hc = last(runtime, 'HEALTHCHECK')?.args ?? '';
    expect(hc).toMatch(/\bCMD\b/);
    expect(hc).toContain('/healthz');
    expect(hc).toMatch(/\bnode\b/);
    expect(hc).not.toMatch(/\b(curl|wget)\b/);
  });

  test('CMD starts dist/src/main.js, compiled from src/main.ts', () => {
    const cmd = last(runtime, 'CMD')!.args;
    expect(JSON.parse(cmd)).toEqual(['node', 'dist/src/main.js']);
    expect(workdir(runtime)).toBe('/app');
    const missingSources = ['src/main.ts'].filter((f) => !fs.existsSync(path.join(root, f)));
    expect(missingSources).toEqual([]);
  });

  test('the runtime stage copies dist from the build stage, and dist is what the build produces', () => {
    const fromBuild = runtime.instructions
      .filter((i) => i.keyword === 'COPY')
      .map((i) => copyArgs(i.args))
      .filter((c) => c.flags['from'] !== undefined);
    const buildStage = allStages[0]!;
    const tsconfig = JSON.parse(read('tsconfig.json')) as { compilerOptions: { outDir: string } };
    const distPath = path.posix.join(workdir(buildStage), tsconfig.compilerOptions.outDir);
    expect(fromBuild).toEqual(expect.arrayContaining([expect.objectContaining({ sources: [distPath] })]));
    for (const c of fromBuild) {
      expect(allStages.slice(0, -1).map((s) => s.name)).toContain(c.flags['from']);
      for (const src of c.sources) expect(src.startsWith(distPath)).toBe(true);
    }
  });

  test(`the runtime stage copies ${RUNTIME_DIRS.join(', ')} and package files from the context`, () => {
    const sources = runtime.instructions
      .filter((i) => i.keyword === 'COPY')
      .map((i) => copyArgs(i.args))
      .filter((c) => c.flags['from'] === undefined)
      .flatMap((c) => c.sources.map((s) => s.replace(/^\.\/|\/+$/g, '')));
    expect(sources).toEqual(expect.arrayContaining([...RUNTIME_DIRS, 'package.json', 'package-lock.json']));
  });

  test('every path copied from the build context exists and is not left out by .dockerignore', () => {
    const missing: string[] = [];
    const excluded: string[] = [];
    for (const stage of allStages) {
      for (const ins of stage.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')) {
        const { flags, sources } = copyArgs(ins.args);
        if (flags['from'] !== undefined) continue;
        for (const src of sources) {
          if (!fs.existsSync(path.join(root, src))) missing.push(`${src} (Dockerfile line ${ins.line})`);
          if (ignored(src)) excluded.push(`${src} (Dockerfile line ${ins.line})`);
        }
      }
    }
    expect(excluded).toEqual([]);
    expect(missing).toEqual([]);
  });

  test('the image does not ship the example clients: .dockerignore leaves them out, production would refuse them', () => {
    expect(ignored('config/clients.json')).toBe(true);
    expect(ignored('config/common-passwords.txt')).toBe(false);
    expect(readClientsFile(path.join(root, 'config/clients.json')).every((c) => c.example === true)).toBe(true);
  });
});

describe('.dockerignore', () => {
  test.each(['node_modules', 'data', 'dist', '.git', 'coverage', '.env', 'debug.log', 'node_modules/argon2/package.json'])(
    'leaves %s out of the build context',
    (file) => expect(ignored(file)).toBe(true),
  );

  test.each(['src/main.ts', 'migrations/index.ts', 'package.json', 'package-lock.json', '.env.example'])(
    'keeps %s in the build context',
    (file) => expect(ignored(file)).toBe(false),
  );
});

describe('parseDockerfile', () => {
  test('joins continuation lines, skips comments inside them and honours the escape directive', () => {
    const parsed = parseDockerfile(
      ['# escape=`', '', 'FROM node:22 AS b', 'RUN a `', '  # note', '', '  && b', 'cmd ["x"]'].join('\n'),
    );
    expect(parsed.map(({ keyword, args }) => ({ keyword, args }))).toEqual([
      { keyword: 'FROM', args: 'node:22 AS b' },
      { keyword: 'RUN', args: 'a && b' },
      { keyword: 'CMD', args: '["x"]' },
    ]);
  });
});

test('npm start runs node with MALLOC_MMAP_THRESHOLD_ and GLIBC_TUNABLES (ours unless the environment has its own) and the recommended node flags, as the image does', () => {
  const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start ?? '';
  expect(start).toBe(`MALLOC_MMAP_THRESHOLD_=\${MALLOC_MMAP_THRESHOLD_:-131072} GLIBC_TUNABLES=\${GLIBC_TUNABLES:-${RECOMMENDED_GLIBC_TUNABLES}} NODE_OPTIONS="${RECOMMENDED_NODE_FLAGS.join(' ')} \${NODE_OPTIONS:-}" exec node dist/src/main.js`);
  // What node makes of it, run by sh as npm runs it: ours alone, and an operator's own heap setting after ours, which wins.
  const heap = (nodeOptions: string | undefined) => {
    const script = start.replace('node dist/src/main.js', `"${process.execPath}" -p "JSON.stringify(require('v8').getHeapStatistics().heap_size_limit)"`);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...(nodeOptions === undefined ? {} : { NODE_OPTIONS: nodeOptions }) };
    return Number(execFileSync('sh', ['-c', script], { env, encoding: 'utf8' }));
  };
  const plain = Number(execFileSync(process.execPath, ['-p', "require('v8').getHeapStatistics().heap_size_limit"], { env: { PATH: process.env.PATH }, encoding: 'utf8' }));
  const ours = heap(undefined);
  expect(ours).toBeLessThan(plain);
  expect(heap('--max-semi-space-size=1 --max-old-space-size=100')).toBeLessThan(ours);
  expect(heap('--stack-trace-limit=20')).toBe(ours);
  // AsyncLocalStorage without a promise hook (only the hook-based one has _propagate), unless the operator turns it off.
  const contextFrame = (nodeOptions: string | undefined) => {
    const script = start.replace('node dist/src/main.js', `"${process.execPath}" -p "typeof require('async_hooks').AsyncLocalStorage.prototype._propagate"`);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...(nodeOptions === undefined ? {} : { NODE_OPTIONS: nodeOptions }) };
    return execFileSync('sh', ['-c', script], { env, encoding: 'utf8' }).trim();
  };
  expect(contextFrame(undefined)).toBe('undefined');
  expect(contextFrame('--no-experimental-async-context-frame')).toBe('function');
});
