/**
 * A mock's in-memory state: a Map whose entries may carry a lifetime, read against the mock's own
 * clock (so a test's manual clock expires them). An expired entry is gone for every reader; expired
 * entries are also swept now and then on write, so a long-running development mock does not grow.
 */
import type { Now } from './deps.js';

const SWEEP_EVERY_WRITES = 200;

export class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  private writes = 0;

  constructor(private readonly now: Now) {}

  /** `ttlMs` undefined: kept until deleted. */
  set(key: string, value: V, ttlMs?: number): void {
    if (++this.writes % SWEEP_EVERY_WRITES === 0) this.sweep();
    this.entries.set(key, { value, expiresAt: ttlMs === undefined ? Infinity : this.now() + ttlMs });
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt > this.now()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** The live entries whose key starts with `prefix`. */
  *live(prefix = ''): Generator<[string, V]> {
    const now = this.now();
    for (const [key, entry] of this.entries) if (key.startsWith(prefix) && entry.expiresAt > now) yield [key, entry.value];
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}
