/**
 * What a client registration may say (the clients file, the CLI and the admin API validate with this):
 * OIDC client metadata plus our policy fields. Rules: unknown fields are refused (a typo must not
 * silently weaken a client); confidential clients need a strong secret; redirect URIs are absolute and
 * without fragments (oidc-provider matches them exactly); a client-credentials-only client takes no
 * redirects; every problem names its field (`redirect_uris[0]`).
 */
import { z } from 'zod';
import { validateClientPolicy } from './client-policy.js';

const absoluteUrl = z
  .url({ message: 'must be an absolute URL' })
  .refine((u) => !u.includes('#'), 'must not contain a fragment');

export const clientSchema = z
  .object({
    client_id: z.string().min(1).max(255),
    client_secret: z.string().min(32, 'must be at least 32 characters').optional(),
    client_name: z.string().min(1).max(200).optional(),
    application_type: z.enum(['web', 'native']).optional(),
    redirect_uris: z.array(absoluteUrl).optional(),
    post_logout_redirect_uris: z.array(absoluteUrl).optional(),
    grant_types: z.array(z.enum(['authorization_code', 'refresh_token', 'client_credentials'])).min(1).optional(),
    response_types: z.array(z.enum(['code', 'none'])).optional(),
    token_endpoint_auth_method: z
      .enum(['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'])
      .optional(),
    scope: z.string().optional(),
    subject_type: z.enum(['public', 'pairwise']).optional(),
    id_token_signed_response_alg: z.enum(['RS256', 'ES256']).optional(),
    request_object_signing_alg: z.enum(['RS256', 'PS256', 'ES256', 'EdDSA']).optional(),
    require_pushed_authorization_requests: z.boolean().optional(),
    jwks_uri: absoluteUrl.optional(),
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).optional(),
    backchannel_logout_uri: absoluteUrl.optional(),
    backchannel_logout_session_required: z.boolean().optional(),
    /** Ours: a first-party client whose users are not asked for consent. */
    skip_consent: z.boolean().optional(),
    /** Ours: the login policy (DESIGN §3, src/policies/client-policy.ts). */
    login_methods: z.array(z.string()).optional(),
    min_acr: z.string().optional(),
    method_min_acr: z.record(z.string(), z.string()).optional(),
    acr_vocabulary: z.string().optional(),
    release_national_id: z.boolean().optional(),
    /** Ours: an example client from the repository (public secret, development redirect URIs). */
    example: z.literal(true, { message: 'must be true (or left out)' }).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    for (const problem of validateClientPolicy(c)) {
      const [field, ...rest] = problem.split(': ');
      ctx.addIssue({ code: 'custom', path: field!.replace(/\[(\d+)\]/g, '.$1').split('.'), message: rest.join(': ') });
    }
    const grants = c.grant_types ?? ['authorization_code'];
    const method = c.token_endpoint_auth_method ?? 'client_secret_basic';
    if (grants.includes('authorization_code') && !c.redirect_uris?.length) {
      ctx.addIssue({ code: 'custom', path: ['redirect_uris'], message: 'must list at least one redirect URI for the authorization_code grant' });
    }
    if (method.startsWith('client_secret') && !c.client_secret) {
      ctx.addIssue({ code: 'custom', path: ['client_secret'], message: `is required for token_endpoint_auth_method ${method}` });
    }
    if (method === 'none' && c.client_secret) {
      ctx.addIssue({ code: 'custom', path: ['client_secret'], message: 'must not be set for a public client (token_endpoint_auth_method none)' });
    }
    if (method === 'none' && grants.includes('client_credentials')) {
      ctx.addIssue({ code: 'custom', path: ['grant_types'], message: 'a public client cannot use client_credentials' });
    }
  });

export type ClientMetadata = z.infer<typeof clientSchema>;

export function formatPath(path: PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
}

/** A client without the authorization_code grant (client credentials only) takes no redirects. */
export function withProtocolDefaults(client: ClientMetadata): ClientMetadata {
  const grants = client.grant_types ?? ['authorization_code'];
  if (grants.includes('authorization_code')) return client;
  return { response_types: [], redirect_uris: [], ...client };
}
