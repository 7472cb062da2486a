/**
 * Starts bench/bare-server.ts (the bare oidc-provider) as a child process on a free loopback port and
 * stops it again. Its one client is the product fixture's, under the same id and redirect URI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { appRoot } from '../src/app-root.js';
import { CLIENT_ID, REDIRECT_URI, freePort } from './server.js';

export interface BareFixture {
  url: string;
  clientSecret: string;
  server: ChildProcess;
  /** The `sub` the development pages give a login named so. */
  accountId: string;
  cleanup(): Promise<void>;
}

export async function startBareProvider(readyTimeoutMs: number): Promise<BareFixture> {
  const port = await freePort();
  const clientSecret = crypto.randomBytes(32).toString('base64url');
  const server = spawn(process.execPath, [path.join(appRoot(), 'dist', 'bench', 'bare-server.js')], {
    detached: true, // its own process group: Ctrl-C reaches only the benchmark, which stops it
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production', BARE_PORT: String(port), BARE_CLIENT_ID: CLIENT_ID, BARE_CLIENT_SECRET: clientSecret, BARE_REDIRECT_URI: REDIRECT_URI },
  });
  process.once('exit', () => server.kill('SIGKILL')); // last resort if the benchmark exits without cleanup
  let output = '';
  const cleanup = async () => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the bare oidc-provider did not start within ${readyTimeoutMs} ms:\n${output}`)), readyTimeoutMs);
      server.stderr!.on('data', (chunk: Buffer) => (output = `${output}${String(chunk)}`.slice(-4000)));
      server.stdout!.on('data', (chunk: Buffer) => {
        output = `${output}${String(chunk)}`.slice(-4000);
        const line = /\{"listening":"([^"]+)"\}/.exec(output);
        if (line) {
          clearTimeout(timer);
          resolve(line[1]!);
        }
      });
      server.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the bare oidc-provider exited with ${code}:\n${output}`));
      });
    });
    return { url, clientSecret, server, accountId: 'bench-user', cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
