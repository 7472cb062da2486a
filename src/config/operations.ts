/** Running the service: worker processes, the periodic sweep of expired rows, graceful shutdown, and the key that protects signing keys at rest. */
import os from 'node:os';
import { z } from 'zod';
import { hex32, seconds, type EnvOf } from './fields.js';

export interface OperationsConfig {
  /** WORKERS: processes serving requests (src/cluster.ts); SQLite always runs one. */
  workers: number;
  /**
   * MALLOC_MMAP_THRESHOLD_ as the process was started with it (glibc reads it before Node runs, so it
   * only matters here to pass it on to cluster workers and to say when it is missing). Unset, each
   * argon2id verify's 19 MiB buffer ends up retained in a per-thread malloc arena after the first few.
   */
  mallocMmapThreshold: string | undefined;
  /**
   * GLIBC_TUNABLES as the process was started with it (read by glibc before Node runs, like
   * MALLOC_MMAP_THRESHOLD_): passed on to cluster workers, and named in the start-up log when missing.
   */
  glibcTunables: string | undefined;
  /**
   * NODE_OPTIONS as the process was started with it: passed on to cluster workers with the
   * recommended node flags ahead of it (withNodeFlags), so that any setting of the operator's own wins.
   */
  nodeOptions: string | undefined;
  /** How often expired rows (oidc-provider artefacts, flows, counters, old accounts and audit events) are swept. */
  sweepIntervalSeconds: number;
  /** Graceful shutdown and the protection of signing keys at rest. */
  operations: {
    /** 64 hexadecimal characters: AES-256-GCM key that private signing keys are encrypted under. */
    keyEncryptionKey: string | undefined;
    /** After SIGTERM, /readyz answers 503 and the service keeps serving this long (load balancers notice). */
    shutdownDrainSeconds: number;
    /** Then in-flight requests get this long to finish before their connections are destroyed. */
    shutdownGraceSeconds: number;
  };
}

/**
 * The MALLOC_MMAP_THRESHOLD_ every start path sets (Dockerfile, npm start, the cluster's workers):
 * a fixed 128 KiB threshold turns off glibc's dynamic one, so large buffers (argon2id's 19 MiB) are
 * mmapped and returned to the system when freed instead of staying in an arena.
 */
export const RECOMMENDED_MMAP_THRESHOLD = '131072';

/**
 * The GLIBC_TUNABLES every start path sets beside that threshold (Dockerfile, npm start, the cluster's
 * workers, the benchmark's server). Mmapped and given back, each 19 MiB argon2id buffer is faulted in
 * again by the next verify: in 4 KiB pages that is about 4,900 page faults, 9–12 ms of kernel time per
 * verify, a third of the hash itself. glibc.malloc.hugetlb=1 has malloc ask for transparent huge pages
 * (madvise) on the chunks it mmaps, so the same buffer takes about ten 2 MiB faults (2–3 ms, mostly
 * zeroing) and is still given back when freed. It only helps where the kernel's transparent huge pages are
 * `madvise` or `always` (/sys/kernel/mm/transparent_hugepage/enabled); with `never` it changes nothing.
 */
export const RECOMMENDED_GLIBC_TUNABLES = 'glibc.malloc.hugetlb=1';

/** Whether GLIBC_TUNABLES sets malloc's huge-page tunable (to any value: an operator's choice is theirs). */
export const namesHugetlb = (glibcTunables: string | undefined): boolean => (glibcTunables ?? '').split(':').some((t) => t.split('=')[0] === 'glibc.malloc.hugetlb');

/**
 * The node flags every start path puts in NODE_OPTIONS (Dockerfile, npm start, the cluster's workers,
 * the benchmark's server, and the test command, so that the tests run what production runs): README
 * "Memory" and "CPU per request". The heap flags are read when the heap is created, so, like
 * MALLOC_MMAP_THRESHOLD_, they belong to the command that starts node; all are allowed in NODE_OPTIONS.
 * - --max-old-space-size=1024: below about 2 GiB of limit V8 scales its heap growing factor down (about
 *   1.5 instead of 4), so the old space stays near its live size (about 45 MiB under load) between full
 *   collections. 1 GiB is twenty times that live size: a burst has room, since running out of heap ends
 *   the process, which is worse than resident memory.
 * - --max-semi-space-size=8: half of Node 22's 16 MiB per semi-space (the young generation holds two).
 * - --experimental-async-context-frame: AsyncLocalStorage (our request scopes, oidc-provider's
 *   `Provider.ctx`) carried by V8's continuation data instead of a promise hook on every promise (issue
 *   13: 9–11 % less CPU per API request, measured side by side). It is what Node 24 does by default;
 *   on Node 22 it is still called experimental and prints no warning. An operator turns it off with
 *   `--no-experimental-async-context-frame` in their own NODE_OPTIONS (the last one counts).
 */
export const RECOMMENDED_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--max-old-space-size=1024', '--experimental-async-context-frame'];

/**
 * `--name=value` or `--name value` → `--name`; V8 treats `-` and `_` in a flag's name alike, and
 * `--no-name` is the same flag turned off.
 */
const flagName = (flag: string): string => flag.split('=')[0]!.replace(/_/g, '-').replace(/^--no-/, '--');

/**
 * NODE_OPTIONS with the recommended node flags ahead of the operator's own options. Node applies the
 * options in NODE_OPTIONS in order, the last one of a name winning, and the command line after them all;
 * a flag the operator names already is left out as well, so the result says plainly which value holds.
 * Idempotent: a primary started with the flags passes the same string on to its workers.
 */
export function withNodeFlags(nodeOptions: string | undefined, flags: readonly string[] = RECOMMENDED_NODE_FLAGS): string {
  const own = (nodeOptions ?? '').trim();
  const named = new Set(own.split(/\s+/).filter(Boolean).map(flagName));
  return [...flags.filter((f) => !named.has(flagName(f))), ...(own ? [own] : [])].join(' ');
}

/** The recommended node flags that neither NODE_OPTIONS nor the command line (execArgv) names. */
export function missingNodeFlags(nodeOptions: string | undefined, execArgv: readonly string[], flags: readonly string[] = RECOMMENDED_NODE_FLAGS): string[] {
  const named = new Set([...(nodeOptions ?? '').split(/\s+/), ...execArgv].filter(Boolean).map(flagName));
  return flags.filter((f) => !named.has(flagName(f)));
}

export const operationsEnv = {
  SWEEP_INTERVAL_SECONDS: seconds.default(300),
  KEY_ENCRYPTION_KEY: hex32.optional(),
  SHUTDOWN_DRAIN_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(1).max(600).default(25),
  MALLOC_MMAP_THRESHOLD_: z.string().regex(/^\d+$/, 'must be a number of bytes (131072 is recommended)').optional(),
  // glibc has parsed it before any of this runs (it ignores what it does not know); kept to pass on.
  GLIBC_TUNABLES: z.string().optional(),
  // Node has parsed it before any of this runs (and refuses to start on a bad one); kept to pass on.
  NODE_OPTIONS: z.string().optional(),
  WORKERS: z.coerce.number({ message: 'must be a whole number of worker processes' }).int('must be a whole number of worker processes').min(1).max(256).optional(),
};

export function readOperations(e: EnvOf<typeof operationsEnv>, production: boolean): OperationsConfig {
  return {
    // Every core in production; one process in development, where a debugger and the logs stay simple.
    workers: e.WORKERS ?? (production ? os.availableParallelism() : 1),
    mallocMmapThreshold: e.MALLOC_MMAP_THRESHOLD_,
    glibcTunables: e.GLIBC_TUNABLES,
    nodeOptions: e.NODE_OPTIONS,
    sweepIntervalSeconds: e.SWEEP_INTERVAL_SECONDS,
    operations: {
      keyEncryptionKey: e.KEY_ENCRYPTION_KEY,
      shutdownDrainSeconds: e.SHUTDOWN_DRAIN_SECONDS,
      shutdownGraceSeconds: e.SHUTDOWN_GRACE_SECONDS,
    },
  };
}
