/**
 * What a mock needs from whoever starts it, as structural types: the mocks are the outside world and
 * import nothing of the product. Time is a function (a test passes its manual clock's `now`), and the
 * logger is any object with pino's four methods (the product's logger fits; so does `silentLogger`).
 */
export type Now = () => number;

type LogFn = (details: Record<string, unknown>, message: string) => void;

export interface MockLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

const quiet: LogFn = () => undefined;
export const silentLogger: MockLogger = { debug: quiet, info: quiet, warn: quiet, error: quiet };

/** The options every mock takes; both default to the wall clock and silence. */
export interface MockDeps {
  now?: Now;
  logger?: MockLogger;
}
