/**
 * A throw-away PostgreSQL server of a test's own, for fault tests that stop, stall and restart it:
 * initdb in a temp folder, listening on 127.0.0.1 only, on a free port, its socket in that folder too.
 * Never the shared server on 5432. initdb and postgres refuse to run as root, so as root they run as the
 * `postgres` OS user (runuser) in a folder chowned to it. `destroy()` resumes, stops (then kills) the
 * server and removes the folder; call it in afterAll.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './service.js';

const run = promisify(execFile);

/** The newest installed PostgreSQL's bin folder, or undefined when there is none. */
export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const bin = path.join(root, version, 'bin');
    if (fs.existsSync(path.join(bin, 'initdb')) && fs.existsSync(path.join(bin, 'pg_ctl'))) return bin;
  }
  return undefined;
}

export interface OwnPostgres {
  url: string;
  port: number;
  /** pg_ctl stop: `fast` disconnects the clients (57P01), `immediate` kills the server outright. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP the postmaster and every backend: connections stay open and nothing answers. */
  freeze(): Promise<void>;
  /** SIGCONT them again. */
  thaw(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const bin = findPostgresBin();
  if (!bin) throw new Error('no PostgreSQL binaries under /usr/lib/postgresql');
  const asRoot = process.getuid?.() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nordlys-own-pg-'));
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const port = await freePort();
  if (asRoot) {
    // The folder must belong to postgres, and os.tmpdir()'s own permissions already let it in.
    await run('chown', ['postgres:postgres', dir]);
    fs.chmodSync(dir, 0o700);
  }
  const pg = (tool: string, args: string[], timeout = 60_000) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(bin, tool), ...args], { timeout }) : run(path.join(bin, tool), args, { timeout });

  await pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off -c max_connections=40`;
  const start = async () => {
    await pg('pg_ctl', ['-D', data, '-l', logFile, '-o', options, '-w', '-t', '60', 'start'], 90_000);
  };
  const postmasterPid = (): number | undefined => {
    const file = path.join(data, 'postmaster.pid');
    if (!fs.existsSync(file)) return undefined;
    const pid = Number(fs.readFileSync(file, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  };
  /** The postmaster and its children (backends, checkpointer, …), read from /proc. */
  const serverPids = (): number[] => {
    const main = postmasterPid();
    if (!main) return [];
    const children = fs
      .readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((entry) => {
        try {
          // Field 4 of /proc/<pid>/stat is the parent pid; the name in field 2 may hold spaces, so split after ')'.
          const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === main;
        } catch {
          return false; // the process ended while we looked
        }
      })
      .map(Number);
    return [main, ...children];
  };
  const signalAll = (signal: NodeJS.Signals) => {
    for (const pid of serverPids()) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  };

  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: async (mode = 'fast') => {
      await pg('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop'], 90_000);
    },
    start,
    freeze: async () => {
      // The postmaster first, so it forks no backend we would miss; then its children, listed after it stopped.
      const main = postmasterPid();
      if (main) process.kill(main, 'SIGSTOP');
      signalAll('SIGSTOP');
    },
    thaw: async () => signalAll('SIGCONT'),
    destroy: async () => {
      signalAll('SIGCONT');
      try {
        if (postmasterPid()) await pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '20', 'stop'], 30_000);
      } catch {
        signalAll('SIGKILL');
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
