/** The integrator playground at /playground (src/playground/): on in development, opt-in in production. */
import { bool, type EnvOf } from './fields.js';

export interface PlaygroundConfig {
  /** The integrator playground at /playground (src/playground/): on in development, opt-in in production. */
  playground: { enabled: boolean };
}

export const playgroundEnv = {
  PLAYGROUND_ENABLED: bool.optional(),
};

export function readPlayground(e: EnvOf<typeof playgroundEnv>, production: boolean): PlaygroundConfig {
  return { playground: { enabled: e.PLAYGROUND_ENABLED ?? !production } };
}
