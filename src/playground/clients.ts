/**
 * The playground's built-in clients, registered with the provider by the composition root. Rules:
 * - every one may redirect only to the playground's own callback and log out only to its own page;
 * - `playground` is a public client (PKCE); `playground-confidential` authenticates with a secret that
 *   is generated and held server-side only, so the playground can introspect what it was issued;
 * - `playground-udi` carries the UDI My page policy (e-mail accounts, ID-porten only at level 4) that
 *   the UDI scenarios need;
 * - `playground-confidential` gets pairwise subjects, to show how they differ from public ones;
 * - all get auth_time and sid in every id_token, and a back-channel logout to the playground;
 * - all may sign request objects with the playground's own key (its public half is registered here).
 */
import crypto from 'node:crypto';
import type { JWK } from 'jose';

export const PLAYGROUND_PUBLIC = 'playground';
export const PLAYGROUND_CONFIDENTIAL = 'playground-confidential';
export const PLAYGROUND_UDI = 'playground-udi';

export interface PlaygroundKeys {
  /** The confidential client's secret (never rendered, never logged). */
  clientSecret: string;
  /** The private JWK (ES256) that signs request objects. */
  requestKey: JWK;
}

/** The client metadata the provider needs (the same shape as an entry of the clients file). */
export interface BuiltInClient {
  client_id: string;
  client_name: string;
  client_secret?: string;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  grant_types: Array<'authorization_code' | 'refresh_token'>;
  token_endpoint_auth_method: 'none' | 'client_secret_basic';
  request_object_signing_alg: 'ES256';
  jwks: { keys: Array<Record<string, unknown>> };
  skip_consent: boolean;
  login_methods: string[];
  method_min_acr?: Record<string, string>;
  acr_vocabulary?: string;
  release_national_id: boolean;
  subject_type?: 'public' | 'pairwise';
  require_auth_time: boolean;
  backchannel_logout_uri: string;
  backchannel_logout_session_required: boolean;
}

export const playgroundCallback = (issuer: string) => `${issuer}/playground/callback`;
export const playgroundLoggedOut = (issuer: string) => `${issuer}/playground/logged-out`;
export const playgroundBackchannel = (issuer: string) => `${issuer}/playground/backchannel-logout`;

function publicHalf(jwk: JWK): Record<string, unknown> {
  const { d: _d, ...rest } = jwk;
  return { ...rest, use: 'sig', alg: 'ES256' };
}

export function playgroundClients(issuer: string, keys: PlaygroundKeys): BuiltInClient[] {
  const common = {
    redirect_uris: [playgroundCallback(issuer)],
    post_logout_redirect_uris: [playgroundLoggedOut(issuer)],
    grant_types: ['authorization_code', 'refresh_token'] as Array<'authorization_code' | 'refresh_token'>,
    request_object_signing_alg: 'ES256' as const,
    jwks: { keys: [publicHalf(keys.requestKey)] },
    skip_consent: true,
    release_national_id: true,
    // So that every id_token shows auth_time and sid, and logout shows the back-channel logout token.
    require_auth_time: true,
    backchannel_logout_uri: playgroundBackchannel(issuer),
    backchannel_logout_session_required: true,
  };
  return [
    { ...common, client_id: PLAYGROUND_PUBLIC, client_name: 'Playground (public, PKCE)', token_endpoint_auth_method: 'none', login_methods: ['local', 'idporten', 'bankid-se', 'foreign-eid'] },
    {
      ...common,
      client_id: PLAYGROUND_CONFIDENTIAL,
      client_name: 'Playground (confidential)',
      client_secret: keys.clientSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      // Pairwise, so the playground can show a sub that differs per client for the same person.
      subject_type: 'pairwise',
      login_methods: ['local', 'idporten', 'bankid-se', 'foreign-eid'],
    },
    {
      ...common,
      client_id: PLAYGROUND_UDI,
      client_name: 'Playground as UDI My page',
      token_endpoint_auth_method: 'none',
      login_methods: ['local', 'idporten'],
      method_min_acr: { idporten: 'high' },
      acr_vocabulary: 'legacy-upper',
    },
  ];
}

export function isBuiltIn(clientId: string): boolean {
  return clientId === PLAYGROUND_PUBLIC || clientId === PLAYGROUND_CONFIDENTIAL || clientId === PLAYGROUND_UDI;
}

/** A fresh ES256 private JWK (JSON) for signing request objects; the composition root stores it. */
export function newRequestKey(): string {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return JSON.stringify({ ...privateKey.export({ format: 'jwk' }), kid: `playground-${crypto.randomBytes(6).toString('hex')}` });
}
