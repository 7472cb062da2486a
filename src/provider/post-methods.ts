/**
 * Whether the authorization and end-session endpoints accept HTTP POST (OIDC Core 3.1.2.1 and RP-Initiated
 * Logout §2 say an OP MUST). oidc-provider supports it only with `SameSite=None` session cookies, because a
 * cross-site form POST carries no `Lax` cookie. `None` cookies must be `Secure`, so POST is on only where the
 * browser accepts a `Secure` cookie from us: an https issuer, or a loopback development issuer
 * (`http://localhost`, `http://127.0.0.1`, `http://[::1]`), which browsers treat as a secure context.
 * Anywhere else POST stays off, and the operator is told why. Pure.
 */
export interface PostMethodSupport {
  enabled: boolean;
  /** True when the issuer is http on loopback: the cookies are Secure although the connection is not TLS. */
  loopbackHttp: boolean;
  /** Why POST is off, for the start-up log. */
  reason?: string;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function postMethodSupport(issuer: string): PostMethodSupport {
  const url = new URL(issuer);
  if (url.protocol === 'https:') return { enabled: true, loopbackHttp: false };
  const host = url.hostname.toLowerCase();
  if (LOOPBACK_HOSTS.has(host) || host.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(host)) {
    return { enabled: true, loopbackHttp: true };
  }
  return {
    enabled: false,
    loopbackHttp: false,
    reason:
      `ISSUER ${issuer} is plain http on a host that is not loopback: browsers refuse the Secure SameSite=None ` +
      'session cookie that POST /auth and POST /session/end need, so both answer GET only. Use an https issuer.',
  };
}
