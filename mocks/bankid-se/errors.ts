/**
 * The RP API's errors: an HTTP status and `{ errorCode, details }` (shared/reference/BANKID-SE.md).
 * Rules: each code has one status; a 429 carries `RateLimit-*` headers and `Retry-After`; answers are
 * never cached.
 */
import type { Context } from 'koa';

export const ERROR_STATUS = {
  alreadyInProgress: 400,
  invalidParameters: 400,
  unauthorized: 401,
  notFound: 404,
  methodNotAllowed: 405,
  requestTimeout: 408,
  unsupportedMediaType: 415,
  tooManyRequests: 429,
  internalError: 500,
  maintenance: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class BankidApiError extends Error {
  readonly status: number;
  constructor(
    readonly errorCode: ErrorCode,
    readonly details: string,
  ) {
    super(`${errorCode}: ${details}`);
    this.status = ERROR_STATUS[errorCode];
  }
}

export const invalidParameters = (details: string) => new BankidApiError('invalidParameters', details);

/** What the mock says for an injected failure. */
export const INJECTED_DETAILS: Record<string, string> = {
  maintenance: 'The service is temporarily unavailable (injected by the mock)',
  internalError: 'Internal technical error (injected by the mock)',
  requestTimeout: 'The request took too long (injected by the mock)',
  tooManyRequests: 'Too many requests (injected by the mock)',
};

/** A window of 1 second: the limit is "spent" until the next one. */
export const RATE_LIMIT = { limit: 10, windowSeconds: 1 } as const;

export function sendJson(ctx: Context, status: number, body: object): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(body);
}

export function sendError(ctx: Context, err: BankidApiError): void {
  if (err.errorCode === 'methodNotAllowed') ctx.set('Allow', 'POST');
  if (err.errorCode === 'tooManyRequests') {
    ctx.set('RateLimit-Policy', `${RATE_LIMIT.limit};w=${RATE_LIMIT.windowSeconds}`);
    ctx.set('RateLimit-Limit', String(RATE_LIMIT.limit));
    ctx.set('RateLimit-Remaining', '0');
    ctx.set('RateLimit-Reset', String(RATE_LIMIT.windowSeconds));
    ctx.set('Retry-After', String(RATE_LIMIT.windowSeconds));
  }
  sendJson(ctx, err.status, { errorCode: err.errorCode, details: err.details });
}
