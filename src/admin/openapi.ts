/**
 * The OpenAPI 3.1 description of the admin API, served at /admin/api/v1/openapi.json. Rules: it describes
 * exactly the routes router.ts serves, the token it needs (client credentials with nordlys:admin) and the
 * problem details every refusal uses.
 */
import { ADMIN_SCOPE } from '../policies/admin-scope.js';

const problem = { $ref: '#/components/responses/Problem' };
const json = (schema: object) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'the client_id' };
const subParam = { name: 'sub', in: 'path', required: true, schema: { type: 'string' }, description: 'the account id (sub)' };
const refusals = { 401: problem, 403: problem, 429: problem, 503: problem };

/** The audit trail's filters, shared by the query and the export. */
const auditParams: Array<Record<string, unknown>> = [
  { name: 'account', in: 'query', description: 'account id (sub basis)', schema: { type: 'string' } },
  { name: 'client', in: 'query', schema: { type: 'string' } },
  { name: 'actor', in: 'query', description: 'user:<id>, client:<id>, cli or system', schema: { type: 'string' } },
  { name: 'event', in: 'query', description: "an event name, or a prefix ending in '*' (login.*)", schema: { type: 'string' } },
  { name: 'outcome', in: 'query', schema: { type: 'string', enum: ['success', 'failure'] } },
  { name: 'since', in: 'query', description: 'ISO 8601 time or epoch ms, inclusive', schema: { type: 'string' } },
  { name: 'until', in: 'query', description: 'ISO 8601 time or epoch ms, exclusive', schema: { type: 'string' } },
];

export function openApiDocument(issuer: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: { title: 'Nordlys ID admin API', version: '1', description: 'Clients, signing keys and accounts of this OpenID Provider. Every call is audited with the calling admin client\'s id.' },
    servers: [{ url: `${issuer}/admin/api/v1` }],
    security: [{ adminToken: [ADMIN_SCOPE] }],
    paths: {
      '/clients': {
        get: { summary: 'List clients', responses: { 200: { description: 'every client (secrets are never shown)', content: json({ type: 'object', properties: { clients: { type: 'array', items: ref('Client') } }, required: ['clients'] }) }, ...refusals } },
        post: {
          summary: 'Create a client; the server assigns client_id and client_secret (shown only in this answer)',
          requestBody: { required: true, content: json(ref('ClientMetadata')) },
          responses: { 201: { description: 'created', headers: { Location: { schema: { type: 'string' } } }, content: json(ref('ClientWithSecret')) }, 400: problem, ...refusals },
        },
      },
      '/clients/{id}': {
        parameters: [idParam],
        get: { summary: 'Show a client', responses: { 200: { description: 'the client', content: json(ref('Client')) }, 404: problem, ...refusals } },
        put: {
          summary: 'Replace a client\'s metadata (the whole client, as in RFC 7592)',
          requestBody: { required: true, content: json(ref('ClientMetadata')) },
          responses: { 200: { description: 'updated; client_secret only when a public client became confidential', content: json(ref('ClientWithSecret')) }, 400: problem, 404: problem, ...refusals },
        },
        delete: { summary: 'Delete a client', responses: { 204: { description: 'deleted' }, 404: problem, ...refusals } },
      },
      '/clients/{id}/rotate-secret': {
        parameters: [idParam],
        post: {
          summary: 'Issue a new secret; the previous one keeps working until previous_secret_expires_at (client_secret_basic, client_secret_post or client_secret_jwt)',
          responses: {
            200: { description: 'the new secret, shown once', content: json({ type: 'object', properties: { client_id: { type: 'string' }, client_secret: { type: 'string' }, previous_secret_expires_at: { type: 'integer', description: 'epoch seconds' } }, required: ['client_id', 'client_secret', 'previous_secret_expires_at'] }) },
            400: problem,
            404: problem,
            ...refusals,
          },
        },
      },
      '/audit': {
        get: {
          summary: 'Query the audit trail, newest first, one page at a time',
          parameters: auditParams.concat([
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
            { name: 'cursor', in: 'query', description: 'next_cursor of the previous page', schema: { type: 'string' } },
          ]),
          responses: { 200: { description: 'a page of events', content: json({ type: 'object', properties: { events: { type: 'array', items: { type: 'object' } }, next_cursor: { type: 'string' } }, required: ['events'] }) }, 400: problem, ...refusals },
        },
      },
      '/audit/export': {
        get: {
          summary: 'Export the matching audit events as NDJSON, oldest first (streamed)',
          parameters: auditParams,
          responses: { 200: { description: 'one JSON event per line', content: { 'application/x-ndjson': { schema: { type: 'string' } } } }, 400: problem, ...refusals },
        },
      },
      '/keys': {
        get: { summary: 'List signing keys (kid, alg, state, times; never key material)', responses: { 200: { description: 'the keys', content: json({ type: 'object', properties: { keys: { type: 'array', items: ref('Key') } } }) }, ...refusals } },
      },
      '/keys/rotate': {
        post: { summary: 'Publish new signing keys now; they sign after KEY_PUBLISH_SECONDS', responses: { 200: { description: 'the new keys', content: json({ type: 'object' }) }, ...refusals } },
      },
      '/keys/{kid}/revoke': {
        parameters: [{ name: 'kid', in: 'path', required: true, schema: { type: 'string' } }],
        post: { summary: 'Withdraw a key at once (a signing key is replaced by a new one that signs at once)', responses: { 200: { description: 'revoked', content: json({ type: 'object' }) }, 404: problem, ...refusals } },
      },
      '/accounts/search': {
        post: {
          summary: 'Find an account by exactly one of email, legacy_username, sub (in the body, so no address reaches an access log)',
          requestBody: { required: true, content: json({ type: 'object', properties: { email: { type: 'string' }, legacy_username: { type: 'string' }, sub: { type: 'string' } }, minProperties: 1, maxProperties: 1 }) },
          responses: { 200: { description: 'zero or one account', content: json({ type: 'object', properties: { accounts: { type: 'array', items: ref('Account') } } }) }, 400: problem, ...refusals },
        },
      },
      '/accounts/{sub}': {
        parameters: [subParam],
        get: { summary: 'Show an account', responses: { 200: { description: 'the account', content: json(ref('Account')) }, 404: problem, ...refusals } },
        delete: { summary: 'Delete an account: a tombstone stays so its sub is never reused; sessions end', responses: { 204: { description: 'deleted' }, 404: problem, ...refusals } },
      },
      '/accounts/{sub}/disable': { parameters: [subParam], post: { summary: 'Stop its logins and end its sessions and tokens', responses: { 200: { description: 'disabled', content: json(ref('Account')) }, 404: problem, 409: problem, ...refusals } } },
      '/accounts/{sub}/enable': { parameters: [subParam], post: { summary: 'Let a disabled account log in again', responses: { 200: { description: 'active', content: json(ref('Account')) }, 404: problem, 409: problem, ...refusals } } },
      '/accounts/{sub}/revoke-sessions': { parameters: [subParam], post: { summary: 'End every session and token of the account', responses: { 200: { description: 'ended', content: json({ type: 'object' }) }, 404: problem, ...refusals } } },
      '/accounts/{sub}/clear-throttling': { parameters: [subParam], post: { summary: 'Forget the account\'s failed-login counter', responses: { 200: { description: 'cleared', content: json({ type: 'object' }) }, 404: problem, ...refusals } } },
    },
    components: {
      securitySchemes: {
        adminToken: {
          type: 'oauth2',
          description: `An access token from this provider's token endpoint, by client credentials, for a client registered with "scope": "${ADMIN_SCOPE}".`,
          flows: { clientCredentials: { tokenUrl: `${issuer}/token`, scopes: { [ADMIN_SCOPE]: 'manage this provider' } } },
        },
      },
      responses: {
        Problem: { description: 'RFC 9457 problem details', content: { 'application/problem+json': { schema: ref('Problem') } } },
      },
      schemas: {
        Account: {
          type: 'object',
          properties: {
            sub: { type: 'string' },
            kind: { type: 'string' },
            status: { enum: ['active', 'disabled', 'deleted'] },
            identities: { type: 'array', description: 'GET only: the identity source (never a national identity number)', items: { type: 'object' } },
            active_sessions: { type: 'array', description: 'GET only: live login sessions and their clients', items: { type: 'object', properties: { clients: { type: 'array', items: { type: 'string' } }, login_at: { type: 'integer' } } } },
            name: { type: ['string', 'null'] },
            email: { type: ['string', 'null'] },
            email_verified: { type: 'boolean' },
            created_at: { type: 'integer' },
            last_login_at: { type: ['integer', 'null'] },
          },
        },
        Key: {
          type: 'object',
          properties: { kid: { type: 'string' }, alg: { enum: ['RS256', 'ES256'] }, state: { enum: ['signing', 'published', 'retiring', 'expired', 'revoked'] }, created: { type: 'string', format: 'date-time' }, signsFrom: { type: 'string', format: 'date-time' } },
        },
        Problem: {
          type: 'object',
          properties: {
            type: { type: 'string', format: 'uri' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string', description: 'e.g. redirect_uris[0]' }, message: { type: 'string' } }, required: ['field', 'message'] } },
          },
          required: ['type', 'title', 'status'],
        },
        ClientMetadata: {
          type: 'object',
          description: 'RFC 7591 client metadata plus Nordlys policy fields; unknown fields are refused.',
          properties: {
            client_name: { type: 'string' },
            application_type: { enum: ['web', 'native'] },
            redirect_uris: { type: 'array', items: { type: 'string', format: 'uri' } },
            post_logout_redirect_uris: { type: 'array', items: { type: 'string', format: 'uri' } },
            grant_types: { type: 'array', items: { enum: ['authorization_code', 'refresh_token', 'client_credentials'] } },
            response_types: { type: 'array', items: { enum: ['code', 'none'] } },
            token_endpoint_auth_method: { enum: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'], default: 'client_secret_basic' },
            scope: { type: 'string', description: `space-separated; "${ADMIN_SCOPE}" makes an admin client` },
            subject_type: { enum: ['public', 'pairwise'] },
            id_token_signed_response_alg: { enum: ['RS256', 'ES256'] },
            request_object_signing_alg: { enum: ['RS256', 'PS256', 'ES256', 'EdDSA'] },
            require_pushed_authorization_requests: { type: 'boolean' },
            jwks_uri: { type: 'string', format: 'uri' },
            jwks: { type: 'object', properties: { keys: { type: 'array', items: { type: 'object' } } } },
            backchannel_logout_uri: { type: 'string', format: 'uri' },
            backchannel_logout_session_required: { type: 'boolean' },
            skip_consent: { type: 'boolean', description: 'first-party client: no consent page' },
            login_methods: { type: 'array', items: { type: 'string' } },
            min_acr: { type: 'string' },
            method_min_acr: { type: 'object', additionalProperties: { type: 'string' } },
            acr_vocabulary: { type: 'string' },
            release_national_id: { type: 'boolean' },
          },
        },
        Client: {
          allOf: [
            ref('ClientMetadata'),
            {
              type: 'object',
              properties: {
                client_id: { type: 'string' },
                client_secret_expires_at: { type: 'integer', description: '0: the secret does not expire' },
                previous_secret_expires_at: { type: 'integer', description: 'epoch seconds; only during a rotation grace period' },
                created_at: { type: 'integer' },
                updated_at: { type: 'integer' },
              },
              required: ['client_id', 'created_at', 'updated_at'],
            },
          ],
        },
        ClientWithSecret: { allOf: [ref('Client'), { type: 'object', properties: { client_secret: { type: 'string', description: 'shown once' } } }] },
      },
    },
  };
}
