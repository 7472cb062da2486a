/**
 * Counts tokens and OIDC errors from oidc-provider's documented events (nothing of it is patched):
 * `grant.success` once per token response, by its grant type; every `*.error` event and `server_error`
 * by the error code it answered. Rule: the grant type and error code pass the fixed sets of
 * src/observability/metrics.ts (a client's made-up grant_type never reaches a label), and the client
 * id is never a label.
 */
import type Provider from 'oidc-provider';
import { PROVIDER_ERROR_EVENTS, type Metrics } from './metrics.js';

export function countProviderEvents(provider: Provider, count: Pick<Metrics, 'tokenIssued' | 'oidcError'>): void {
  // The event names are oidc-provider's; its typings list them per overload, so widen the emitter here.
  const emitter = provider as unknown as NodeJS.EventEmitter;
  emitter.on('grant.success', (ctx: { oidc?: { params?: { grant_type?: unknown } } }) => count.tokenIssued(ctx.oidc?.params?.grant_type));
  for (const event of PROVIDER_ERROR_EVENTS) {
    emitter.on(event, (...args: unknown[]) => {
      const err = args.find((a): a is Error & { error?: unknown } => a instanceof Error);
      count.oidcError(event, event === 'server_error' ? 'server_error' : err?.error);
    });
  }
}
