/**
 * The response deadline. Rules: every request behind this middleware is answered within `ms` — when the
 * work is still running by then, the request fails with a ServiceUnavailableError (503 + Retry-After,
 * rendered by the error handler) instead of hanging. The work itself is not cancelled (nothing in Node
 * can stop it safely); its later outcome is only logged, never sent, and never an unhandled rejection.
 */
import type { Middleware } from 'koa';
import { ServiceUnavailableError } from '../errors.js';

export class DeadlineExceededError extends ServiceUnavailableError {
  constructor(readonly ms: number) {
    super(undefined, `no answer within the ${ms} ms request deadline`);
  }
}

export function deadline(ms: number): Middleware {
  return async (ctx, next) => {
    let timer: NodeJS.Timeout | undefined;
    const work = next();
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new DeadlineExceededError(ms)), ms);
    });
    try {
      await Promise.race([work, expired]);
    } catch (err) {
      if (err instanceof DeadlineExceededError) {
        work.then(
          () => ctx.state.log?.info({ path: ctx.path }, 'request finished after its deadline'),
          // Name and code only: a late error's message is not ours to vouch for.
          (late: unknown) => {
            const { name, code } = (late ?? {}) as { name?: unknown; code?: unknown };
            ctx.state.log?.info({ path: ctx.path, name, errorCode: code }, 'request failed after its deadline');
          },
        );
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  };
}
