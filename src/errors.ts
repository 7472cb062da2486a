/**
 * Our error hierarchy. Each error has a stable code, an HTTP status, whether its message may be shown
 * to a user (`expose`), the catalogue id of the message users see, and the original `cause` for the log.
 * One koa handler (src/http/error-handler.ts) renders them.
 */
import type { MessageId } from './i18n/messages/en.js';

export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    readonly messageId: MessageId,
    options?: { cause?: unknown; message?: string },
  ) {
    super(options?.message ?? code, { cause: options?.cause });
    this.name = new.target.name;
  }
  get expose(): boolean {
    return this.status < 500;
  }
}

export class BadRequestError extends AppError {
  constructor(message = 'bad request', cause?: unknown) {
    super('bad_request', 400, 'error.bad_request', { message, cause });
  }
}

export class CsrfError extends AppError {
  constructor() {
    super('csrf_token_invalid', 403, 'error.csrf');
  }
}

export class NotFoundError extends AppError {
  constructor() {
    super('not_found', 404, 'error.not_found');
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(cause?: unknown) {
    super('payload_too_large', 413, 'error.body_too_large', { cause });
  }
}

/** The database (or the request's time budget) ran out: 503 with Retry-After, "try again shortly". */
export class ServiceUnavailableError extends AppError {
  constructor(cause?: unknown, message = 'temporarily unavailable') {
    super('temporarily_unavailable', 503, 'unavailable.message', { cause, message });
  }
}
