/**
 * oidc-provider's documented `fetch` hook: every outgoing request of the provider passes through here.
 * Rules:
 * - a back-channel logout (a form POST carrying `logout_token`) goes to the persistent outbox
 *   (backchannel-delivery.ts), which sends it with our SSRF guard and retries it; the provider is told the
 *   logout was accepted, because from then on the outbox answers for it;
 * - any other request (a client's jwks_uri, sector_identifier_uri, request_uri) keeps the provider's own
 *   SSRF guard, unless its host is on ALLOW_PRIVATE_OUTBOUND_HOSTS (the operator's own relying parties);
 *   a refusal is logged with its real cause.
 */
import { isIP } from 'node:net';
import { decodeJwt } from 'jose';
import type { Logger } from '../logger.js';
import type { BackchannelDelivery } from './backchannel-delivery.js';
import { isOwnOrigin, type OutboundAllowList } from '../policies/outbound-hosts.js';

type FetchOptions = RequestInit & { dispatcher?: unknown };

export function createProviderFetch(deps: { backchannel: BackchannelDelivery; allowList: OutboundAllowList; logger: Logger }) {
  const { backchannel, allowList, logger } = deps;
  return async (url: URL | string, options: FetchOptions): Promise<Response> => {
    const target = new URL(String(url));
    const body = options.body;
    if (options.method === 'POST' && body instanceof URLSearchParams && body.has('logout_token')) {
      const logoutToken = body.get('logout_token')!;
      // Our own token, just signed: its audience names the client and its exp bounds the retries.
      const { aud, exp } = decodeJwt(logoutToken);
      const clientId = Array.isArray(aud) ? String(aud[0]) : String(aud);
      await backchannel.send({ clientId, url: target.href, logoutToken, expiresAt: (exp ?? 0) * 1000 });
      return new Response(null, { status: 204 });
    }
    const literal = target.hostname.replace(/^\[|\]$/g, '');
    const allowed = isOwnOrigin(allowList, target) || allowList.hosts.has(literal.toLowerCase()) || (isIP(literal) !== 0 && allowList.addresses.check(literal, isIP(literal) === 4 ? 'ipv4' : 'ipv6'));
    if (allowed) delete options.dispatcher;
    try {
      return await globalThis.fetch(target, options as RequestInit);
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
      logger.warn({ host: target.host, cause }, 'outgoing request of the provider failed');
      throw err;
    }
  };
}
