/**
 * The service's own log output (src/logger.ts: stdout, asynchronous, written in batches): seen from the
 * process that reads it, as an operator's log pipeline would. A lone line of an idle process still
 * arrives while the process runs (the periodic flush), a burst arrives whole and in order, and the
 * lines logged just before the process exits are all there. Nothing is timed: each test waits for
 * the output itself, within jest's timeout.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { appRoot } from '../../src/app-root.js';

const loggerModule = path.join(appRoot(), 'dist', 'src', 'logger.js');

/** Runs `body` (with `createLogger` in scope) in a fresh node; calls `onLine` for each line it prints. */
function run(body: string, onLine: (line: string, all: string[]) => void = () => undefined) {
  const script = `import { createLogger } from ${JSON.stringify(loggerModule)};\n${body}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let rest = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const parts = (rest + String(chunk)).split('\n');
    rest = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      onLine(line, lines);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

test('a lone line of an idle process reaches stdout while the process keeps running', async () => {
  let seen: () => void = () => undefined;
  const arrived = new Promise<void>((resolve) => (seen = resolve));
  const proc = run(`createLogger('info').info({ n: 1 }, 'alone'); setInterval(() => {}, 1000);`, () => seen());
  await arrived;
  expect(proc.child.exitCode).toBeNull(); // still running: the line did not wait for the exit
  expect(JSON.parse(proc.lines[0]!)).toMatchObject({ n: 1, msg: 'alone' });
  proc.child.kill('SIGKILL');
  await proc.exited;
});

test('a burst of lines arrives whole and in order, and the lines logged just before exit are all there', async () => {
  const proc = run(`
    const logger = createLogger('info');
    for (let i = 0; i < 3000; i += 1) logger.info({ i, pad: 'x'.repeat(i % 300) }, 'burst');
    logger.info('last before exit');
    process.exit(0);
  `);
  expect(await proc.exited).toBe(0);
  const parsed = proc.lines.map((l) => JSON.parse(l) as { i?: number; msg: string });
  expect(parsed.filter((l) => l.msg === 'burst').map((l) => l.i)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
  expect(parsed.at(-1)?.msg).toBe('last before exit');
});
