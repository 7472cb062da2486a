/**
 * The clients table (migration 006): every relying party and admin client, shared by all instances.
 * Rules:
 * - metadata is stored without secrets; the secret is sealed under the key-encryption key
 *   (client-secret-box.ts) and only ever leaves this module decrypted for the provider's lookup and once,
 *   to the caller that created or rotated it;
 * - a rotation keeps the old secret until the grace period ends, and hands it to the provider's lookup only
 *   for a request that proves it; after that it is never returned, whether or not a later write has cleared
 *   it yet;
 * - an import inserts a client the database lacks and overwrites one only when its file entry changed
 *   (import_hash), so restarting with the same file does not undo API or CLI changes; two instances
 *   importing at once cannot both insert (INSERT … ON CONFLICT).
 * - every change to the table raises the clients' change counter in the same statement (a trigger,
 *   migration 008), whoever makes it; the provider reads clients through client-cache.ts, which that counter
 *   keeps honest; this store tells this instance's listeners (onChange) after each write it made itself.
 *   The store's own reads (get, list, providerMetadata) read the table.
 */
import crypto from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Database } from './db.js';
import type { Kek } from './key-encryption.js';
import { openClientSecret, sealClientSecret } from './client-secret-box.js';
import { isUniqueViolation } from './db-errors.js';

const TABLE = 'clients';

/** RFC 7591 client metadata plus our policy fields, without client_secret. */
export type StoredMetadata = Record<string, unknown> & { client_id: string };

export interface ClientRecord {
  metadata: StoredMetadata;
  hasSecret: boolean;
  /** Epoch ms until which the previous secret still works, when a rotation is in its grace period. */
  previousSecretExpiresAt?: number;
  createdAt: number;
  updatedAt: number;
}

interface Row {
  client_id: string;
  metadata: string;
  secret: string | null;
  previous_secret: string | null;
  previous_secret_expires_at: string | number | null;
  import_hash: string | null;
  created_at: string | number;
  updated_at: string | number;
}

/** What the provider's lookup needs of a client, as stored: the metadata as JSON, the secrets still sealed. */
export interface ProviderRecord {
  clientId: string;
  metadata: string;
  secret: string | null;
  previousSecret: string | null;
  /** Epoch ms; null without a previous secret. */
  previousSecretExpiresAt: number | null;
}

export class DuplicateClientError extends Error {
  constructor(readonly clientId: string) {
    super(`a client ${clientId} exists already`);
  }
}

function withoutSecret(metadata: Record<string, unknown>): StoredMetadata {
  const { client_secret: _secret, ...rest } = metadata;
  return rest as StoredMetadata;
}

/** Constant-time equality of two secrets (their lengths are not secret: every generated secret has the same). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/** Freezes a parsed JSON value all the way down (a shared value that nobody may change). */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

export function importHashOf(metadata: Record<string, unknown>): string {
  return crypto.createHash('sha256').update(JSON.stringify(metadata)).digest('hex');
}

export function createClientStore(db: Database, clock: Clock, kek: Kek) {
  const { knex } = db;
  const seal = (id: string, secret: string | undefined) => (secret ? sealClientSecret(kek, id, secret) : null);

  const toRecord = (r: Row, now: number): ClientRecord => {
    const graceEnds = r.previous_secret_expires_at === null ? undefined : Number(r.previous_secret_expires_at);
    return {
      metadata: JSON.parse(r.metadata) as StoredMetadata,
      hasSecret: r.secret !== null,
      ...(r.previous_secret && graceEnds !== undefined && graceEnds > now ? { previousSecretExpiresAt: graceEnds } : {}),
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
    };
  };

  async function row(clientId: string): Promise<Row | undefined> {
    return (await knex(TABLE).where({ client_id: clientId }).first()) as Row | undefined;
  }

  async function get(clientId: string): Promise<ClientRecord | undefined> {
    const r = await row(clientId);
    return r ? toRecord(r, clock.now()) : undefined;
  }

  async function list(): Promise<ClientRecord[]> {
    const now = clock.now();
    return ((await knex(TABLE).orderBy('client_id')) as Row[]).map((r) => toRecord(r, now));
  }

  /** The client as the provider's lookup needs it (see providerMetadataOf), or undefined. */
  async function providerRecord(clientId: string): Promise<ProviderRecord | undefined> {
    const r = await row(clientId);
    if (!r) return undefined;
    return {
      clientId,
      metadata: r.metadata,
      secret: r.secret,
      previousSecret: r.previous_secret,
      previousSecretExpiresAt: r.previous_secret_expires_at === null ? null : Number(r.previous_secret_expires_at),
    };
  }

  /**
   * The metadata oidc-provider needs, with the current secret. During a rotation's grace period a lookup
   * for a request that proves the previous secret (`provesPrevious`, a constant-time comparison or an HMAC
   * check done by the caller) gets the previous secret instead, so oidc-provider checks that request's
   * proof against the secret it was made with. After the grace period it never does.
   */
  function providerMetadataOf(record: ProviderRecord, provesPrevious?: (previous: string) => boolean): Readonly<Record<string, unknown>> {
    if (record.secret && provesPrevious && record.previousSecret && record.previousSecretExpiresAt !== null && record.previousSecretExpiresAt > clock.now()) {
      const previous = openClientSecret(kek, record.clientId, record.previousSecret);
      if (provesPrevious(previous)) return { ...(JSON.parse(record.metadata) as Record<string, unknown>), client_secret: previous };
    }
    return currentMetadataOf(record);
  }

  /**
   * The metadata with the current secret does not depend on the clock or the request, so it is opened once
   * per record (issue 13: parsing and decrypting it was 4 % of a userinfo request's CPU). The client cache
   * keeps one record per client until the client changes; a record read outside the cache is new at every
   * read, so it is opened every time. The value is frozen: every lookup shares it. Keeping the opened
   * secret in memory adds nothing that was not there: oidc-provider's own client cache holds the same
   * secret in its Client instances.
   */
  const opened = new WeakMap<ProviderRecord, Readonly<Record<string, unknown>>>();
  function currentMetadataOf(record: ProviderRecord): Readonly<Record<string, unknown>> {
    let metadata = opened.get(record);
    if (!metadata) {
      const parsed = JSON.parse(record.metadata) as Record<string, unknown>;
      metadata = deepFreeze(record.secret ? { ...parsed, client_secret: openClientSecret(kek, record.clientId, record.secret) } : parsed);
      opened.set(record, metadata);
    }
    return metadata;
  }

  /** providerMetadataOf the stored client, read now; undefined when there is none. */
  async function providerMetadata(clientId: string, provesPrevious?: (previous: string) => boolean): Promise<Readonly<Record<string, unknown>> | undefined> {
    const record = await providerRecord(clientId);
    return record ? providerMetadataOf(record, provesPrevious) : undefined;
  }

  /** Whether `presented` is the client's previous secret and its grace period has not ended. */
  async function isPreviousSecret(clientId: string, presented: string): Promise<boolean> {
    const r = await row(clientId);
    if (!r?.previous_secret || r.previous_secret_expires_at === null || Number(r.previous_secret_expires_at) <= clock.now()) return false;
    return sameSecret(openClientSecret(kek, clientId, r.previous_secret), presented);
  }

  const changeListeners: Array<() => void> = [];
  /** `listener` runs after every write this store made (other instances learn of changes by the version). */
  function onChange(listener: () => void): void {
    changeListeners.push(listener);
  }
  /** Tells the listeners; a write that failed may still have changed something, so it is told too. */
  async function writing<T>(write: PromiseLike<T>): Promise<T> {
    try {
      return await write;
    } finally {
      for (const listener of changeListeners) listener();
    }
  }

  async function insert(metadata: StoredMetadata & { client_secret?: string }, importHash?: string): Promise<void> {
    const now = clock.now();
    try {
      await writing(knex(TABLE).insert({
        client_id: metadata.client_id,
        metadata: JSON.stringify(withoutSecret(metadata)),
        secret: seal(metadata.client_id, metadata.client_secret),
        previous_secret: null,
        previous_secret_expires_at: null,
        import_hash: importHash ?? null,
        created_at: now,
        updated_at: now,
      }));
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateClientError(metadata.client_id);
      throw err;
    }
  }

  /**
   * Replaces a client's metadata. `secret`: a string sets a new current secret (a public client made
   * confidential), null removes every secret (made public), undefined keeps what is stored.
   */
  async function update(metadata: StoredMetadata, secret?: string | null): Promise<boolean> {
    const id = metadata.client_id;
    const changes: Record<string, unknown> = { metadata: JSON.stringify(withoutSecret(metadata)), updated_at: clock.now() };
    if (secret !== undefined) Object.assign(changes, { secret: seal(id, secret ?? undefined), previous_secret: null, previous_secret_expires_at: null });
    return (await writing(knex(TABLE).where({ client_id: id }).update(changes))) === 1;
  }

  async function remove(clientId: string): Promise<boolean> {
    return (await writing(knex(TABLE).where({ client_id: clientId }).del())) === 1;
  }

  /** A new current secret; the old one keeps working for `graceSeconds`. Only a client with a secret. */
  async function rotateSecret(clientId: string, secret: string, graceSeconds: number): Promise<{ previousSecretExpiresAt: number } | undefined> {
    const now = clock.now();
    const ends = now + graceSeconds * 1000;
    return writing(knex.transaction(async (trx) => {
      const r = (await trx(TABLE).where({ client_id: clientId }).forUpdate().first()) as Row | undefined;
      if (!r?.secret) return undefined;
      await trx(TABLE)
        .where({ client_id: clientId })
        .update({ secret: seal(clientId, secret), previous_secret: graceSeconds > 0 ? r.secret : null, previous_secret_expires_at: graceSeconds > 0 ? ends : null, updated_at: now });
      return { previousSecretExpiresAt: graceSeconds > 0 ? ends : now };
    }));
  }

  /** Loads clients-file entries (already validated); returns what happened to each. */
  async function importClients(clients: Array<StoredMetadata & { client_secret?: string }>): Promise<{ created: string[]; updated: string[]; unchanged: string[] }> {
    const result = { created: [] as string[], updated: [] as string[], unchanged: [] as string[] };
    for (const c of clients) {
      const hash = importHashOf(c);
      const now = clock.now();
      const inserted = (await writing(knex(TABLE)
        .insert({
          client_id: c.client_id,
          metadata: JSON.stringify(withoutSecret(c)),
          secret: seal(c.client_id, c.client_secret),
          previous_secret: null,
          previous_secret_expires_at: null,
          import_hash: hash,
          created_at: now,
          updated_at: now,
        })
        .onConflict('client_id')
        .ignore()
        .returning('client_id'))) as unknown[];
      if (inserted.length) {
        result.created.push(c.client_id);
        continue;
      }
      const changed = await writing(knex(TABLE)
        .where({ client_id: c.client_id })
        .andWhere((q) => q.whereNull('import_hash').orWhereNot('import_hash', hash))
        .update({ metadata: JSON.stringify(withoutSecret(c)), secret: seal(c.client_id, c.client_secret), previous_secret: null, previous_secret_expires_at: null, import_hash: hash, updated_at: now }));
      (changed ? result.updated : result.unchanged).push(c.client_id);
    }
    return result;
  }

  return { get, list, providerRecord, providerMetadataOf, providerMetadata, isPreviousSecret, insert, update, remove, rotateSecret, importClients, onChange };
}

export type ClientStore = ReturnType<typeof createClientStore>;
