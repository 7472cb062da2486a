/**
 * HTTP load with autocannon: one request shape, `connections` keep-alive connections, stopped at
 * `amount` requests or after `seconds`, whichever comes first (autocannon alone would let `amount`
 * override the duration). The rate counts 2xx answers only; anything else is reported as failed.
 */
import autocannon from 'autocannon';

export interface LoadRequest {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadOptions {
  connections: number;
  amount: number;
  seconds: number;
}

export interface LoadOutcome {
  ok: number;
  failed: number;
  seconds: number;
  perSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  capped: boolean;
}

export async function runLoad(request: LoadRequest, options: LoadOptions): Promise<LoadOutcome> {
  let capped = false;
  let timer: NodeJS.Timeout | undefined;
  // autocannon ends a run (and reports its duration) on a whole-second tick: too coarse for a short
  // run, so the time is taken here, from the start to the last answer.
  const started = performance.now();
  let lastAnswer = started;
  let ok = 0;
  let notOk = 0;
  try {
    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      const instance = autocannon(
        {
          url: request.url,
          method: request.method ?? 'GET',
          headers: request.headers ?? {},
          ...(request.body !== undefined ? { body: request.body } : {}),
          connections: Math.min(options.connections, options.amount),
          amount: options.amount,
          timeout: 30,
        },
        (err: unknown, done: autocannon.Result) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(done)),
      );
      instance.on('response', (_client, statusCode) => {
        lastAnswer = performance.now();
        if (statusCode >= 200 && statusCode < 300) ok += 1;
        else notOk += 1;
      });
      timer = setTimeout(() => {
        capped = true;
        instance.stop();
      }, options.seconds * 1000);
    });
    const seconds = (lastAnswer - started) / 1000;
    return {
      ok,
      failed: notOk + result.errors,
      seconds,
      perSecond: seconds > 0 ? ok / seconds : 0,
      latencyP50Ms: result.latency.p50,
      latencyP99Ms: result.latency.p99,
      capped,
    };
  } finally {
    clearTimeout(timer);
  }
}
