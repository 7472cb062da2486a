/**
 * The clients file: a JSON document `{ "clients": [ ...OIDC client metadata... ] }`, an import only: at
 * start-up its clients are loaded into the database (src/store/clients.ts), which is what the provider serves.
 * Rules: validated at start-up (a bad file stops the service with a message naming the field, e.g.
 * `clients[1].redirect_uris[0]`); unknown fields are refused (a typo must not silently weaken a client);
 * confidential clients need a strong secret; redirect URIs are absolute, without fragments, and matched
 * exactly by oidc-provider; the example clients shipped in config/clients.json carry `"example": true`
 * (their secrets are public) and production refuses them, one line per client, whatever the file's path.
 */
import fs from 'node:fs';
import { z } from 'zod';
import { validateClientPolicy } from '../policies/client-policy.js';

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

const fileSchema = z
  .object({ clients: z.array(clientSchema) })
  .strict()
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    f.clients.forEach((c, i) => {
      if (seen.has(c.client_id)) ctx.addIssue({ code: 'custom', path: ['clients', i, 'client_id'], message: `duplicate client_id ${c.client_id}` });
      seen.add(c.client_id);
    });
  });

export class ClientsFileError extends Error {
  constructor(file: string, problems: string[]) {
    super(`Invalid clients file ${file}:\n - ${problems.join('\n - ')}`);
    this.name = 'ClientsFileError';
  }
}

export function formatPath(path: PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
}

/**
 * Validates a parsed clients document; throws ClientsFileError naming each bad field. With
 * `knownMethods` (the registry's method ids) every login method a client names must be one of them.
 */
export function parseClients(document: unknown, file = 'clients file', knownMethods?: readonly string[]): ClientMetadata[] {
  const parsed = fileSchema.safeParse(document);
  if (!parsed.success) {
    throw new ClientsFileError(file, parsed.error.issues.map((i) => `${formatPath(i.path) || 'document'}: ${i.message}`));
  }
  const unknown = knownMethods ? parsed.data.clients.flatMap((c, i) => validateClientPolicy(c, knownMethods).map((p) => `clients[${i}].${p}`)) : [];
  if (unknown.length) throw new ClientsFileError(file, unknown);
  return parsed.data.clients.map(withProtocolDefaults);
}

/** A client without the authorization_code grant (client credentials only) takes no redirects. */
export function withProtocolDefaults(client: ClientMetadata): ClientMetadata {
  const grants = client.grant_types ?? ['authorization_code'];
  if (grants.includes('authorization_code')) return client;
  return { response_types: [], redirect_uris: [], ...client };
}

/** One line per example client: production must not run them. */
export function exampleClientProblems(clients: ClientMetadata[]): string[] {
  return clients.flatMap((c, i) =>
    c.example
      ? [`clients[${i}] (${c.client_id}) is an example client, whose secret and redirect URIs are public: production refuses it; remove it from CLIENTS_FILE and register your own clients (cli: clients add)`]
      : [],
  );
}

export function readClientsFile(file: string, options: { refuseExamples?: boolean; knownMethods?: readonly string[] } = {}): ClientMetadata[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ClientsFileError(file, [`cannot be read (${(cause as Error).message})`]);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    throw new ClientsFileError(file, [`is not valid JSON (${(cause as Error).message})`]);
  }
  const clients = parseClients(document, file, options.knownMethods);
  const examples = options.refuseExamples ? exampleClientProblems(clients) : [];
  if (examples.length) throw new ClientsFileError(file, examples);
  return clients;
}

/** Writes the file atomically (write a sibling, then rename), after validating the new content (for tools that keep an import file). */
export function writeClientsFile(file: string, clients: ClientMetadata[]): void {
  parseClients({ clients }, file);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify({ clients }, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}
