/**
 * Logs oidc-provider's error events, so an operator or integrator can see why a request was refused
 * (the response itself says only `invalid_grant`). Rule: the error's code, description and detail are
 * logged — never the request's parameters, which hold codes and tokens.
 */
import type Provider from 'oidc-provider';
import type { Logger } from '../logger.js';
import { describeDatabaseError, isDatabaseUnavailable } from '../store/db-errors.js';

const REFUSAL_EVENTS = [
  'authorization.error',
  'grant.error',
  'introspection.error',
  'revocation.error',
  'userinfo.error',
  'end_session.error',
  'backchannel.error',
  'pushed_authorization_request.error',
  'registration_read.error',
  'jwks.error',
  'discovery.error',
] as const;

interface OidcError {
  error?: string;
  error_description?: string;
  error_detail?: string;
  message?: string;
}

const describe = (err: OidcError) => ({
  error: err.error ?? 'unknown',
  description: err.error_description,
  detail: err.error_detail,
});

export function logProviderEvents(provider: Provider, logger: Logger): void {
  for (const event of REFUSAL_EVENTS) {
    // The event names are oidc-provider's; its typings list them per overload, so widen the emitter here.
    (provider as unknown as NodeJS.EventEmitter).on(event, (...args: unknown[]) => {
      const err = args.find((a): a is OidcError => a instanceof Error) ?? {};
      const ctx = args[0] as { oidc?: { client?: { clientId?: string } }; state?: { requestId?: string } } | undefined;
      logger.info({ event, clientId: ctx?.oidc?.client?.clientId, reqId: ctx?.state?.requestId, ...describe(err) }, 'oidc request refused');
    });
  }
  // A database that is away is answered 503 (src/http/provider-mount.ts): a warning, not a stack per request.
  provider.on('server_error', (_ctx: unknown, err: Error) =>
    isDatabaseUnavailable(err)
      ? logger.warn({ cause: describeDatabaseError(err) }, 'oidc request answered 503: database unavailable')
      : logger.error({ err }, 'oidc server error'),
  );
}
