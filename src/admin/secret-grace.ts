/**
 * The grace period of a rotated client secret, for every secret-based client authentication
 * (client_secret_basic, client_secret_post, client_secret_jwt). oidc-provider knows one client_secret per
 * client and checks a request's proof against it; it has no hook for a second one. What it documents is
 * that the Client model's adapter `find` runs inside the request it serves, which `Provider.ctx` returns
 * (docs/README.md, "General access to ctx"). So the client lookup looks at that request: when it proves
 * the client's previous secret (a Basic or posted secret equal to it, or a client assertion HMAC'd with
 * it) and the grace period lasts, the provider is handed the previous secret and checks the proof itself.
 * Rules:
 * - nothing about the request is changed, and the provider does every check as before: for a
 *   client_secret_jwt assertion that includes its claims and its jti, which it records only once it
 *   verified, so a replay under either secret is refused and an assertion refused for its signature leaves
 *   its jti free for a retry;
 * - only a proof for the client being looked up counts (its id in the Basic credentials, the posted
 *   client_id, or the assertion's sub), compared in constant time; every other lookup (no request, another
 *   client, a request that proves nothing) gets the current secret;
 * - the secrets never reach a log.
 */
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import { sameSecret, type ClientStore } from '../store/clients.js';
import { parseHmacAssertion, signedWith } from './hmac-assertion.js';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** RFC 6749 §2.3.1: client_id and secret are form-urlencoded inside the Basic credentials. */
const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, '%20'));

type Proof = (previous: string) => boolean;

/** The Basic credentials of the request, when they name `clientId`. */
function basicSecretFor(ctx: KoaContextWithOIDC, clientId: string): string | undefined {
  const header = ctx.headers.authorization;
  if (!header || !/^basic /i.test(header)) return undefined;
  const credentials = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const i = credentials.indexOf(':');
  if (i <= 0) return undefined;
  try {
    return decode(credentials.slice(0, i)) === clientId ? decode(credentials.slice(i + 1)) || undefined : undefined;
  } catch {
    return undefined; // malformed: the provider answers it
  }
}

/** How the request being served would prove `clientId`'s previous secret, if it carries a proof for that client. */
export function proofFor(ctx: KoaContextWithOIDC | undefined, clientId: string): Proof | undefined {
  if (!ctx?.oidc) return undefined;
  const basic = basicSecretFor(ctx, clientId);
  if (basic) return (previous) => sameSecret(previous, basic);
  const params = (ctx.oidc.params ?? {}) as Record<string, unknown>;
  const { client_id: postedId, client_secret: posted, client_assertion: jwt, client_assertion_type: type } = params;
  if (typeof posted === 'string' && posted && postedId === clientId) return (previous) => sameSecret(previous, posted);
  if (type === JWT_BEARER && typeof jwt === 'string') {
    const assertion = parseHmacAssertion(jwt);
    if (assertion?.sub === clientId) return (previous) => signedWith(assertion, previous);
  }
  return undefined;
}

/**
 * The client store as the provider's Client adapter reads it, with the grace period applied to each
 * lookup. `currentRequest` is oidc-provider's `Provider.ctx` (a parameter so tests can hand in a request).
 */
export function withSecretGrace(
  store: Pick<ClientStore, 'providerMetadata'>,
  currentRequest: () => KoaContextWithOIDC | undefined = () => Provider.ctx,
): Pick<ClientStore, 'providerMetadata'> {
  return {
    providerMetadata: (clientId: string) => store.providerMetadata(clientId, proofFor(currentRequest(), clientId)),
  };
}
