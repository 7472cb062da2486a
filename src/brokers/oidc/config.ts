/**
 * The configured OpenID upstreams (`OIDC_UPSTREAMS`, a JSON array; README "Any OpenID upstream"). Rules:
 * - each upstream names everything the broker needs: its id (the method id clients list), issuer,
 *   client, authentication, scopes, how its `acr` values map to our ranks, which claim is the subject,
 *   which claims are released under which of our names, and its display name (no message ids exist);
 * - every problem names its field, e.g. `OIDC_UPSTREAMS[1].client_secret`;
 * - ids are unique; a secret method needs a secret and private_key_jwt a private key;
 * - production talks to an upstream over https only.
 */
import { z } from 'zod';
import { supportedLocales } from '../../i18n/locales.js';
import { SWEDISH_PNR_CLAIM } from '../../policies/claims.js';
import { RANKS, type Rank } from '../../policies/loa.js';
import type { LocalisedText } from '../method.js';

/** Our claims an upstream's claims may be released as (stored with the account, refreshed at each login). */
export const RELEASABLE_CLAIMS = ['name', 'given_name', 'family_name', 'birthdate'] as const;
export type ReleasableClaim = (typeof RELEASABLE_CLAIMS)[number];

const localisedText = z.union([
  z.string().min(1),
  z.partialRecord(z.enum(supportedLocales), z.string().min(1)).refine((t) => Object.keys(t).length > 0, 'must give the text in at least one language'),
]);

const upstreamSchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be lower-case letters, digits and dashes (at most 40), starting with a letter'),
    issuer: z.url({ message: 'must be an absolute URL' }),
    client_id: z.string().min(1),
    auth_method: z.enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt']).default('client_secret_basic'),
    client_secret: z.string().min(16, 'must be at least 16 characters').optional(),
    /** A private JWK (with `kid`) for private_key_jwt. */
    private_key: z.looseObject({ kty: z.string(), kid: z.string().min(1), d: z.string().min(1) }).optional(),
    scopes: z.array(z.string().min(1)).default(['openid']).refine((s) => s.includes('openid'), 'must include openid'),
    /** Upstream acr value → our rank; an answer with any other acr is refused. */
    acr: z.record(z.string().min(1), z.enum(RANKS, { message: 'must be low, substantial or high' })).refine((m) => Object.keys(m).length > 0, 'must map at least one upstream acr value to a rank'),
    subject_claim: z.string().min(1).default('sub'),
    /** Our claim name → the upstream's claim released under it. */
    claims: z.partialRecord(z.enum(RELEASABLE_CLAIMS), z.string().min(1)).default({}),
    /** The subject is a national identity number, released as this claim to clients allowed to receive one. */
    national_id_claim: z.enum(['pid', SWEDISH_PNR_CLAIM]).optional(),
    display_name: localisedText,
    hint: localisedText.optional(),
    timeout_ms: z.coerce.number().int().min(100).max(120000).default(10000),
  })
  .strict()
  .superRefine((u, ctx) => {
    if (u.auth_method === 'private_key_jwt' && !u.private_key) ctx.addIssue({ code: 'custom', path: ['private_key'], message: 'is required for auth_method private_key_jwt' });
    if (u.auth_method !== 'private_key_jwt' && !u.client_secret) ctx.addIssue({ code: 'custom', path: ['client_secret'], message: `is required for auth_method ${u.auth_method}` });
  });

const upstreamList = z.array(upstreamSchema).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((u, i) => {
    if (seen.has(u.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate id ${u.id}` });
    seen.add(u.id);
  });
});

export const oidcEnv = {
  OIDC_UPSTREAMS: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `is not valid JSON (${(err as Error).message})` });
        return z.NEVER;
      }
    })
    .pipe(upstreamList)
    .optional(),
};

export interface OidcUpstreamSettings {
  id: string;
  issuer: string;
  clientId: string;
  authMethod: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  clientSecret: string | undefined;
  /** The private JWK as JSON, for private_key_jwt. */
  privateKey: string | undefined;
  scopes: string[];
  acr: Readonly<Record<string, Rank>>;
  subjectClaim: string;
  claims: Partial<Record<ReleasableClaim, string>>;
  nationalIdClaim: string | undefined;
  displayName: LocalisedText;
  hint: LocalisedText | undefined;
  timeoutMs: number;
  /** Where it was configured, for messages: `OIDC_UPSTREAMS[0]`. */
  origin: string;
}

export function oidcSettings(e: z.infer<z.ZodObject<typeof oidcEnv>>): OidcUpstreamSettings[] {
  return (e.OIDC_UPSTREAMS ?? []).map((u, i) => ({
    id: u.id,
    issuer: u.issuer.replace(/\/$/, ''),
    clientId: u.client_id,
    authMethod: u.auth_method,
    clientSecret: u.client_secret,
    privateKey: u.private_key ? JSON.stringify(u.private_key) : undefined,
    scopes: u.scopes,
    acr: u.acr,
    subjectClaim: u.subject_claim,
    claims: u.claims,
    nationalIdClaim: u.national_id_claim,
    displayName: u.display_name,
    hint: u.hint,
    timeoutMs: u.timeout_ms,
    origin: `OIDC_UPSTREAMS[${i}]`,
  }));
}

export function oidcRefusals(upstreams: OidcUpstreamSettings[]): string[] {
  return upstreams
    .filter((u) => !u.issuer.startsWith('https://'))
    .map((u) => `${u.origin}.issuer is ${u.issuer}: production talks to an OpenID upstream over https; set it to https://…`);
}
