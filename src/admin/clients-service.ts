/**
 * Client management, shared by the admin API and the CLI (one set of rules for both). Rules:
 * - input is RFC 7591 client metadata plus our policy fields, validated by the same schema as the clients
 *   file (src/policies/client-metadata.ts), every problem naming its field;
 * - the server assigns client_id and client_secret; a secret is returned once (create, rotate, or an
 *   update that makes a public client confidential) and is otherwise never shown;
 * - a rotation keeps the old secret valid for the grace period (ADMIN_SECRET_GRACE_SECONDS);
 * - every operation is audited with its actor: the admin client's id, or `cli`.
 */
import crypto from 'node:crypto';
import type { AuditLog } from '../store/audit.js';
import { DuplicateClientError, type ClientRecord, type ClientStore, type StoredMetadata } from '../store/clients.js';
import { newClientSecret } from '../store/client-secret-box.js';
import { clientSchema, formatPath, withProtocolDefaults } from '../policies/client-metadata.js';

export type Actor = { kind: 'admin'; clientId: string; ip?: string | undefined; requestId?: string | undefined } | { kind: 'cli' };

export interface FieldProblem {
  field: string;
  message: string;
}

/** Bad input: each problem names the field (`redirect_uris[0]`). */
export class ClientInputError extends Error {
  constructor(readonly problems: FieldProblem[]) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join('; '));
  }
}

export class ClientNotFoundError extends Error {
  constructor(readonly clientId: string) {
    super(`no client ${clientId}`);
  }
}

export interface ClientView extends StoredMetadata {
  /** RFC 7591: 0 means the secret does not expire. */
  client_secret_expires_at?: number;
  /** During a rotation's grace period: when the previous secret stops working (epoch seconds). */
  previous_secret_expires_at?: number;
  created_at: number;
  updated_at: number;
}

export interface ClientsServiceDeps {
  store: ClientStore;
  audit: AuditLog;
  graceSeconds: number;
  /** The provider's own metadata check (Client.validate), when a provider is at hand (not in the CLI). */
  validate?: ((metadata: Record<string, unknown>) => Promise<void>) | undefined;
}

const SECRET_METHODS = new Set(['client_secret_basic', 'client_secret_post', 'client_secret_jwt']);

export function needsSecret(metadata: Record<string, unknown>): boolean {
  return SECRET_METHODS.has((metadata.token_endpoint_auth_method as string | undefined) ?? 'client_secret_basic');
}

function view(record: ClientRecord): ClientView {
  return {
    ...record.metadata,
    ...(record.hasSecret ? { client_secret_expires_at: 0 } : {}),
    ...(record.previousSecretExpiresAt ? { previous_secret_expires_at: Math.floor(record.previousSecretExpiresAt / 1000) } : {}),
    created_at: Math.floor(record.createdAt / 1000),
    updated_at: Math.floor(record.updatedAt / 1000),
  };
}

function asObject(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ClientInputError([{ field: 'body', message: 'must be a JSON object of client metadata' }]);
  return body as Record<string, unknown>;
}

export function createClientsService(deps: ClientsServiceDeps) {
  const { store, audit } = deps;

  async function record(actor: Actor, event: string, target: string | undefined, detail: Record<string, string | number | boolean> = {}): Promise<void> {
    await audit.record({
      event: `admin.client.${event}`,
      outcome: 'success',
      // The admin API's events carry the admin client's id; the CLI's are the `cli` actor's, about the target client.
      ...(actor.kind === 'admin' ? { clientId: actor.clientId, ip: actor.ip, requestId: actor.requestId } : { actor: 'cli' as const, ...(target ? { clientId: target } : {}) }),
      detail: { actor: actor.kind === 'admin' ? 'admin-api' : 'cli', ...(target ? { target_client_id: target } : {}), ...detail },
    });
  }

  /** Validates metadata for `clientId`, with the secret it will have (if any); returns it normalised. */
  async function validated(input: Record<string, unknown>, clientId: string, secret: string | undefined): Promise<StoredMetadata & { client_secret?: string }> {
    const candidate = { ...input, client_id: clientId, ...(secret ? { client_secret: secret } : {}) };
    const parsed = clientSchema.safeParse(candidate);
    if (!parsed.success) throw new ClientInputError(parsed.error.issues.map((i) => ({ field: formatPath(i.path) || 'body', message: i.message })));
    const metadata = withProtocolDefaults(parsed.data) as StoredMetadata & { client_secret?: string };
    if (deps.validate) {
      try {
        await deps.validate(metadata);
      } catch (err) {
        const e = err as { error_description?: string; message: string };
        const description = e.error_description ?? e.message;
        throw new ClientInputError([{ field: /^(\w+)/.exec(description)?.[1] ?? 'body', message: description }]);
      }
    }
    return metadata;
  }

  function refuseAssigned(input: Record<string, unknown>, clientId?: string): void {
    const problems: FieldProblem[] = [];
    if ('client_secret' in input) problems.push({ field: 'client_secret', message: 'is assigned by the server (rotate it with rotate-secret)' });
    if ('client_id' in input && input.client_id !== clientId) problems.push({ field: 'client_id', message: clientId ? `must be ${clientId} or left out` : 'is assigned by the server' });
    for (const field of ['client_secret_expires_at', 'previous_secret_expires_at', 'created_at', 'updated_at']) {
      if (field in input) problems.push({ field, message: 'is set by the server' });
    }
    if (problems.length) throw new ClientInputError(problems);
  }

  /** `chosenId`: the CLI's operator may name the client; the API always assigns the id. */
  async function create(body: unknown, actor: Actor, chosenId?: string): Promise<{ client: ClientView; client_secret?: string }> {
    const input = asObject(body);
    refuseAssigned(input);
    const clientId = chosenId ?? crypto.randomBytes(16).toString('base64url');
    const secret = needsSecret(input) ? newClientSecret() : undefined;
    const metadata = await validated(input, clientId, secret);
    try {
      await store.insert(metadata);
    } catch (err) {
      if (err instanceof DuplicateClientError) throw new ClientInputError([{ field: 'client_id', message: err.message }]);
      throw err;
    }
    await record(actor, 'created', clientId);
    return { client: view((await store.get(clientId))!), ...(secret ? { client_secret: secret } : {}) };
  }

  async function list(actor: Actor): Promise<ClientView[]> {
    const all = await store.list();
    await record(actor, 'listed', undefined, { count: all.length });
    return all.map(view);
  }

  async function get(clientId: string, actor: Actor): Promise<ClientView> {
    const found = await store.get(clientId);
    if (!found) throw new ClientNotFoundError(clientId);
    await record(actor, 'read', clientId);
    return view(found);
  }

  /** Replaces the metadata (RFC 7592 style: the body is the whole client, without the server's fields). */
  async function update(clientId: string, body: unknown, actor: Actor): Promise<{ client: ClientView; client_secret?: string }> {
    const input = asObject(body);
    refuseAssigned(input, clientId);
    const existing = await store.get(clientId);
    if (!existing) throw new ClientNotFoundError(clientId);
    const wantsSecret = needsSecret(input);
    // A client that becomes confidential gets a secret (shown once); one that becomes public loses its secrets.
    const fresh = wantsSecret && !existing.hasSecret ? newClientSecret() : undefined;
    const metadata = await validated(input, clientId, wantsSecret ? (fresh ?? 'x'.repeat(43)) : undefined);
    const { client_secret: _placeholder, ...withoutSecret } = metadata;
    const secretChange = fresh ?? (!wantsSecret && existing.hasSecret ? null : undefined);
    if (!(await store.update(withoutSecret as StoredMetadata, secretChange))) throw new ClientNotFoundError(clientId);
    await record(actor, 'updated', clientId);
    return { client: view((await store.get(clientId))!), ...(fresh ? { client_secret: fresh } : {}) };
  }

  async function remove(clientId: string, actor: Actor): Promise<void> {
    if (!(await store.remove(clientId))) throw new ClientNotFoundError(clientId);
    await record(actor, 'deleted', clientId);
  }

  async function rotateSecret(clientId: string, actor: Actor): Promise<{ client_id: string; client_secret: string; previous_secret_expires_at: number }> {
    const existing = await store.get(clientId);
    if (!existing) throw new ClientNotFoundError(clientId);
    if (!existing.hasSecret) throw new ClientInputError([{ field: 'token_endpoint_auth_method', message: 'this client has no secret to rotate (a public or private_key_jwt client)' }]);
    const secret = newClientSecret();
    const rotated = await store.rotateSecret(clientId, secret, deps.graceSeconds);
    if (!rotated) throw new ClientNotFoundError(clientId);
    await record(actor, 'secret_rotated', clientId, { grace_seconds: deps.graceSeconds });
    return { client_id: clientId, client_secret: secret, previous_secret_expires_at: Math.floor(rotated.previousSecretExpiresAt / 1000) };
  }

  return { create, list, get, update, remove, rotateSecret };
}

export type ClientsService = ReturnType<typeof createClientsService>;
