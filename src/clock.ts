/** Time as a dependency: production uses the system clock; tests inject one they move (test/support/manual-clock.ts). */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

