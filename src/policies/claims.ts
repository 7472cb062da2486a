/**
 * Which claims each scope releases, in one place (pure data): the provider's configuration reads it,
 * and the i18n test requires a consent-page label for every scope and every claim a person can be asked
 * to share, in every language (a scope added here without labels fails that test).
 */

/** OIDC Sweden's scope and claim for the Swedish personnummer (BankID). */
export const SWEDISH_PNR_SCOPE = 'https://id.oidc.se/scope/naturalPersonNumber';
export const SWEDISH_PNR_CLAIM = 'https://id.oidc.se/claim/personalIdentityNumber';

export const SUPPORTED_SCOPES = ['openid', 'offline_access', 'email', 'profile', 'pid', SWEDISH_PNR_SCOPE];

/** Claims that describe the login itself, not the person: never listed on the consent page. */
export const LOGIN_CLAIMS = ['sub', 'sid', 'auth_time', 'acr', 'amr', 'iss'] as const;

/** oidc-provider's `claims` configuration: standalone claims (null) and the claims each scope releases. */
export const CLAIMS_BY_SCOPE: Record<string, string[] | null> = {
  acr: null,
  amr: null,
  sid: null,
  auth_time: null,
  iss: null,
  // acr and amr describe the login itself: every id_token carries them (OIDC Core 2).
  openid: ['sub', 'acr', 'amr'],
  email: ['email', 'email_verified'],
  profile: ['name', 'given_name', 'family_name', 'birthdate'],
  // The national identity number: only from an eID login, to a client allowed to receive it.
  pid: ['pid'],
  [SWEDISH_PNR_SCOPE]: [SWEDISH_PNR_CLAIM],
};

/** Every claim a consent page may list: what the scopes release, less the login's own claims. */
export function shareableClaims(): string[] {
  const login = new Set<string>(LOGIN_CLAIMS);
  return [...new Set(Object.values(CLAIMS_BY_SCOPE).flatMap((c) => c ?? []))].filter((c) => !login.has(c));
}

/**
 * The message id of a scope's or claim's consent label. Names that are URLs (OIDC Sweden's personnummer)
 * are folded into a stable dotted id: `https://id.oidc.se/scope/naturalPersonNumber` becomes
 * `scope.id_oidc_se_scope_naturalPersonNumber`.
 */
export function consentLabelId(kind: 'scope' | 'claim', name: string): string {
  return `${kind}.${name.replace(/^https?:\/\//, '').replace(/[^A-Za-z0-9_-]+/g, '_')}`;
}
