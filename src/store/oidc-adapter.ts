/**
 * oidc-provider's storage adapter over the oidc_payloads table, the same on SQLite and PostgreSQL.
 * Rules:
 * - One row per (model, id). upsert is a single INSERT … ON CONFLICT DO UPDATE, never read-then-write,
 *   so two instances saving the same artefact cannot both insert.
 * - A row whose expires_at has passed is never returned, whether or not the sweeper has deleted it yet.
 *   A row saved without expiresIn never expires.
 * - consume records the first consumption only, and a later upsert of the same id does not clear it:
 *   a consumed code or refresh token must never become redeemable again.
 * - revokeByGrantId deletes the grant's tokens of every token model at once (see the method for why).
 * - The Grant row itself is keyed by the grant id and carries no grant_id, so revokeByGrantId leaves it;
 *   whether the grant goes too is the provider's revokeGrantPolicy, which calls destroy on it.
 */
import type { Clock } from '../clock.js';
import type { Database } from './db.js';

const TABLE = 'oidc_payloads';

/** The models whose rows belong to a grant and die with it (as in oidc-provider's own adapter). */
const GRANT_TOKEN_MODELS = ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode'];

/** What oidc-provider stores: an open JSON object. The named fields are the ones we index. */
export interface AdapterPayload {
  [key: string]: unknown;
  grantId?: string;
  userCode?: string;
  uid?: string;
  /** Added on read: epoch seconds of the first consume. */
  consumed?: number;
}

/** The surface documented in oidc-provider's example/my_adapter.js. */
export interface OidcAdapter {
  upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<AdapterPayload | undefined>;
  findByUid(uid: string): Promise<AdapterPayload | undefined>;
  findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
  consume(id: string): Promise<void>;
  /** Consumes a live row that was not consumed yet; true for exactly one caller however many race. */
  claim(id: string): Promise<boolean>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

/** oidc-provider constructs one instance per model, with the model's name ("AccessToken", "Session", ...). */
export type OidcAdapterClass = new (model: string) => OidcAdapter;

interface StoredRow {
  payload: string;
  consumed_at: string | number | null;
}

type Lookup = { id: string } | { uid: string } | { user_code: string };

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export function createAdapterClass(db: Database, clock: Clock): OidcAdapterClass {
  const { knex } = db;

  return class OidcPayloadAdapter implements OidcAdapter {
    constructor(readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      // A number, even zero or negative (ReplayDetection can pass those), is a lifetime; anything else is "forever".
      const expiresAt = typeof expiresIn === 'number' && Number.isFinite(expiresIn) ? clock.now() + expiresIn * 1000 : null;
      await knex(TABLE)
        .insert({
          model: this.model,
          id,
          payload: JSON.stringify(payload),
          grant_id: stringOrNull(payload.grantId),
          user_code: stringOrNull(payload.userCode),
          uid: stringOrNull(payload.uid),
          expires_at: expiresAt,
          consumed_at: null,
        })
        .onConflict(['model', 'id'])
        // consumed_at is left out on purpose: re-saving must not undo a consume.
        .merge(['payload', 'grant_id', 'user_code', 'uid', 'expires_at']);
    }

    find(id: string): Promise<AdapterPayload | undefined> {
      return this.findOne({ id });
    }

    findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return this.findOne({ uid });
    }

    findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return this.findOne({ user_code: userCode });
    }

    async consume(id: string): Promise<void> {
      await knex(TABLE)
        .where({ model: this.model, id })
        .whereNull('consumed_at')
        .update({ consumed_at: Math.floor(clock.now() / 1000) });
    }

    async claim(id: string): Promise<boolean> {
      // One UPDATE: on PostgreSQL a racing second one waits for the first's row lock, then matches nothing.
      const claimed = await knex(TABLE)
        .where({ model: this.model, id })
        .whereNull('consumed_at')
        .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', clock.now()))
        .update({ consumed_at: Math.floor(clock.now() / 1000) });
      return claimed === 1;
    }

    async destroy(id: string): Promise<void> {
      await knex(TABLE).where({ model: this.model, id }).del();
    }

    /**
     * Not limited to this.model: the provider calls it on one model and expects every token of the grant
     * gone (its own in-memory adapter keeps one grant index across the token models), and on some paths it
     * calls it only on the models the client's grant types allow, e.g. not RefreshToken. Limited to those
     * token models, as that adapter is: an Interaction that names the grant must survive — when another
     * account logs in, the provider revokes the old session's grants and then resumes that interaction.
     */
    async revokeByGrantId(grantId: string): Promise<void> {
      await knex(TABLE).where({ grant_id: grantId }).whereIn('model', GRANT_TOKEN_MODELS).del();
    }

    private async findOne(lookup: Lookup): Promise<AdapterPayload | undefined> {
      const now = clock.now();
      const row = (await knex(TABLE)
        .select('payload', 'consumed_at')
        .where({ model: this.model, ...lookup })
        .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', now))
        .first()) as StoredRow | undefined;
      if (!row) return undefined;
      const payload = JSON.parse(row.payload) as AdapterPayload;
      // PostgreSQL returns bigint as a string.
      return row.consumed_at === null ? payload : { ...payload, consumed: Number(row.consumed_at) };
    }
  };
}
