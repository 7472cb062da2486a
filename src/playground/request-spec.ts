/**
 * The request a person builds on the playground's form. Rules:
 * - every field is validated against what discovery says the provider supports (scopes, acr values)
 *   or a short fixed list (prompt, ui_locales); a bad value is named, never passed on;
 * - an essential `acr` claim goes in the `claims` parameter of the id_token (OIDC Core 5.5.1.1);
 * - the authorization parameters and the openid-client snippet are built from the same spec, so the
 *   snippet makes exactly the request the page shows.
 */
import { supportedLocales } from '../i18n/locales.js';

export const PROMPTS = ['', 'none', 'login', 'consent', 'select_account'] as const;

export interface RequestSpec {
  clientId: string;
  scope: string[];
  acrValues: string[];
  prompt: string;
  maxAge: string;
  uiLocales: string;
  loginHint: string;
  essentialAcr: string;
  par: boolean;
  jar: boolean;
}

export const defaultSpec = (clientId: string): RequestSpec => ({
  clientId,
  scope: ['openid', 'profile', 'offline_access'],
  acrValues: [],
  // offline_access (a refresh token) is granted only with prompt=consent (OIDC Core 11).
  prompt: 'consent',
  maxAge: '',
  uiLocales: '',
  loginHint: '',
  essentialAcr: '',
  par: false,
  jar: false,
});

export interface Supported {
  clientIds: string[];
  scopes: string[];
  acrValues: string[];
}

const list = (v: unknown): string[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === 'string');
const one = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');

/** Reads the form; returns the spec and the names of the fields that are wrong. */
export function parseSpec(form: Record<string, unknown>, supported: Supported): { spec: RequestSpec; invalid: string[] } {
  const spec: RequestSpec = {
    clientId: one(form.client),
    scope: list(form.scope),
    acrValues: list(form.acr_values),
    prompt: one(form.prompt),
    maxAge: one(form.max_age),
    uiLocales: one(form.ui_locales),
    loginHint: one(form.login_hint),
    essentialAcr: one(form.essential_acr),
    par: form.par === 'on',
    jar: form.jar === 'on',
  };
  if (!spec.scope.includes('openid')) spec.scope.unshift('openid');
  const invalid: string[] = [];
  if (!supported.clientIds.includes(spec.clientId)) invalid.push('client');
  if (spec.scope.some((s) => !supported.scopes.includes(s))) invalid.push('scope');
  if (spec.acrValues.some((a) => !supported.acrValues.includes(a))) invalid.push('acr_values');
  if (!(PROMPTS as readonly string[]).includes(spec.prompt)) invalid.push('prompt');
  if (spec.maxAge && !/^\d{1,8}$/.test(spec.maxAge)) invalid.push('max_age');
  if (spec.uiLocales && !(supportedLocales as readonly string[]).includes(spec.uiLocales)) invalid.push('ui_locales');
  if (spec.loginHint.length > 200) invalid.push('login_hint');
  if (spec.essentialAcr && !supported.acrValues.includes(spec.essentialAcr)) invalid.push('essential_acr');
  return { spec, invalid };
}

/** The authorization request parameters (without client_id, which openid-client adds). */
export function authorizationParams(spec: RequestSpec, fixed: { redirectUri: string; state: string; nonce: string; codeChallenge: string }): Record<string, string> {
  const params: Record<string, string> = {
    redirect_uri: fixed.redirectUri,
    response_type: 'code',
    scope: spec.scope.join(' '),
    state: fixed.state,
    nonce: fixed.nonce,
    code_challenge: fixed.codeChallenge,
    code_challenge_method: 'S256',
  };
  if (spec.acrValues.length) params.acr_values = spec.acrValues.join(' ');
  if (spec.prompt) params.prompt = spec.prompt;
  if (spec.maxAge) params.max_age = spec.maxAge;
  if (spec.uiLocales) params.ui_locales = spec.uiLocales;
  if (spec.loginHint) params.login_hint = spec.loginHint;
  if (spec.essentialAcr) params.claims = JSON.stringify({ id_token: { acr: { essential: true, values: [spec.essentialAcr] } } });
  return params;
}

/** An openid-client (v6) program that makes the same request. */
export function openidClientSnippet(issuer: string, spec: RequestSpec, params: Record<string, string>, confidential: boolean): string {
  const shown = Object.entries(params)
    .filter(([k]) => !['state', 'nonce', 'code_challenge'].includes(k))
    .map(([k, v]) => `  ${k}: ${JSON.stringify(v)},`);
  const build = spec.par
    ? 'await client.buildAuthorizationUrlWithPAR(config, parameters)'
    : spec.jar
      ? 'await client.buildAuthorizationUrlWithJAR(config, parameters, privateKey) // your ES256 key, its public half in the client\'s jwks'
      : 'client.buildAuthorizationUrl(config, parameters)';
  const lines = [
    "import * as client from 'openid-client';",
    '',
    `const config = await client.discovery(new URL(${JSON.stringify(issuer)}), ${JSON.stringify(spec.clientId)}, undefined, ${confidential ? 'client.ClientSecretBasic(process.env.CLIENT_SECRET)' : 'client.None()'});`,
    'const code_verifier = client.randomPKCECodeVerifier();',
    'const state = client.randomState();',
    'const nonce = client.randomNonce();',
    'const parameters = {',
    ...shown,
    '  code_challenge: await client.calculatePKCECodeChallenge(code_verifier),',
    '  state,',
    '  nonce,',
    '};',
    ...(spec.par && spec.jar ? ['// PAR and a signed request object: push the signed request (buildAuthorizationUrlWithJAR, then PAR)'] : []),
    `const url = ${build};`,
    '// … redirect the browser to url; at the callback:',
    'const tokens = await client.authorizationCodeGrant(config, new URL(callbackUrl), { pkceCodeVerifier: code_verifier, expectedState: state, expectedNonce: nonce });',
    'console.log(tokens.claims());',
  ];
  return lines.join('\n');
}
