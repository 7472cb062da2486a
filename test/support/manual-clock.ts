/** A clock that only moves when told to, for tests of expiry (production code takes a `Clock`, src/clock.ts). */
import type { Clock } from '../../src/clock.js';

export class ManualClock implements Clock {
  constructor(private current = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}
