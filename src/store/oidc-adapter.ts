/**
 * oidc-provider's storage adapter over the oidc_payloads table, the same on SQLite and PostgreSQL.
 * Rules:
 * - One row per (model, id). upsert is a single INSERT … ON CONFLICT DO UPDATE, never read-then-write,
 *   so two instances saving the same artefact cannot both insert.
 * - A row whose expires_at has passed is never returned, whether or not the sweeper has deleted it yet.
 *   A row saved without expiresIn never expires.
 * - consume records the first consumption only, and a later upsert of the same id does not clear it:
 *   a consumed code or refresh token must never become redeemable again.
 * - consume is a conditional update and its row count decides (issue 8): of any number of concurrent
 *   redemptions of one code or refresh token exactly one wins. oidc-provider reads `consumed` before it
 *   calls consume, so on PostgreSQL many requests can pass that check at once; the ones whose update
 *   finds the row already consumed are the reuse oidc-provider itself punishes when it sees it in time.
 *   They get the same answer — the grant's tokens and the Grant row are revoked, as its revoke() does
 *   under the default revokeGrantPolicy, and the request fails with invalid_grant (400). Deleting the
 *   Grant kills the winner's chain too, even tokens it saves after the revocation: userinfo,
 *   introspection and refresh all look the grant up first.
 * - a ReplayDetection row (the jti of a DPoP proof or a client assertion) is inserted, never merged:
 *   oidc-provider finds, then saves, so on PostgreSQL concurrent requests with one proof all found
 *   nothing; the unique key now lets one save win and the others fail with a 400 (the adapter cannot
 *   tell a proof from an assertion, so the error is invalid_request naming the reuse).
 * - claim is the same conditional update for our own single-use rows (broker states, BankID orders):
 *   true for exactly one caller, false for every other, never for an expired row.
 * - revokeByGrantId deletes the grant's tokens of every token model at once (see the method for why).
 * - find answers the concurrent lookups of one id (introspection tries three token models) with one
 *   statement, and reads a token's or an Interaction's Grant and Session with it for the same request
 *   (payload-reads.ts).
 * - on PostgreSQL, within a request, upsert and destroy are kept and sent together, before the request
 *   is answered or as soon as a read, a consume, a claim or a revocation could see them
 *   (deferred-writes.ts); the rules above hold for the rows as they are then stored.
 * - the account, grant, uid, user code and session uid of a payload are copied into columns, so every
 *   lookup by them is an index lookup (migrations/007_flat_lookups.ts). The session uid is a token's
 *   `sessionUid`, or the uid of the Session an Interaction was started in (`session.uid`): the join from
 *   either row to its Session is then the (model, uid) index. An Interaction saved before this column
 *   was written for it has none and is read without its Session; it expires within the interaction
 *   lifetime (INTERACTION_TTL_SECONDS, an hour by default), so no migration fills it in.
 * - the hot statements (save, delete, consume, claim, the lookups by uid and user code) are built by knex
 *   once and then sent with new values (compiled-statements.ts): the same SQL the builder makes.
 * - The Grant row itself is keyed by the grant id and carries no grant_id, so revokeByGrantId leaves it;
 *   whether the grant goes too is the provider's revokeGrantPolicy, which calls destroy on it (a lost
 *   consume, above, is the one place the adapter deletes it itself).
 */
import { errors } from 'oidc-provider';
import type { Clock } from '../clock.js';
import type { Database } from './db.js';
import { isUniqueViolation } from './db-errors.js';
import { createPayloadReads, GRANT_TOKEN_MODELS, readsWithGrantAndSession, SNAPSHOT_MODELS, TABLE, type CompanionRead, type StoredRow } from './payload-reads.js';
import { createDeferredWrites, type KeptWrite } from './deferred-writes.js';
import { changedRowsOf, compiledStatements, rowsOf } from './compiled-statements.js';

export { adapterRequestScope } from './adapter-scope.js';

/**
 * The models oidc-provider consumes at its token endpoint (grant sources), with the detail its own
 * reuse check gives, so a lost race reads exactly like a detected reuse.
 */
const GRANT_SOURCE_REUSE: Record<string, string> = {
  AuthorizationCode: 'authorization code already consumed',
  RefreshToken: 'refresh token already used',
  DeviceCode: 'device code already consumed',
  BackchannelAuthenticationRequest: 'backchannel authentication request already consumed',
  PreAuthorizedCode: 'pre-authorized code already consumed',
};

/** What oidc-provider stores: an open JSON object. The named fields are the ones we index. */
export interface AdapterPayload {
  [key: string]: unknown;
  grantId?: string;
  userCode?: string;
  uid?: string;
  accountId?: string;
  sessionUid?: string;
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
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

/** Our own single-use rows add claim: consume that reports who won instead of throwing. */
export interface OneTimeStore extends OidcAdapter {
  claim(id: string): Promise<boolean>;
}

/** oidc-provider constructs one instance per model, with the model's name ("AccessToken", "Session", ...). */
export type OidcAdapterClass = new (model: string) => OneTimeStore;

type Lookup = { uid: string } | { user_code: string };

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

const objectOrUndefined = (value: unknown): Record<string, unknown> | undefined => (typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined);

/**
 * The Grant a row names. An Interaction names the grant its consent created or extended
 * (`result.consent.grantId`), which the resume then loads, ahead of the grant it started with.
 */
function grantIdOf(model: string, payload: AdapterPayload): string | null {
  if (model !== 'Interaction') return stringOrNull(payload.grantId);
  return stringOrNull(objectOrUndefined(objectOrUndefined(payload.result)?.consent)?.grantId) ?? stringOrNull(payload.grantId);
}

/**
 * The account a row names. An Interaction names the account its login result chose, else the account of
 * the Session it was started in: the account the resume then reads (findAccount).
 */
function accountIdOf(model: string, payload: AdapterPayload): string | null {
  if (model !== 'Interaction') return stringOrNull(payload.accountId);
  return stringOrNull(objectOrUndefined(objectOrUndefined(payload.result)?.login)?.accountId) ?? stringOrNull(objectOrUndefined(payload.session)?.accountId);
}

/** The uid of the Session a row belongs to: a token names it, an Interaction holds a summary of it. */
function sessionUidOf(model: string, payload: AdapterPayload): string | null {
  if (model !== 'Interaction') return stringOrNull(payload.sessionUid);
  return stringOrNull(objectOrUndefined(payload.session)?.uid);
}

/** The columns a save sets (consumed_at is never set by a save). */
const SAVED_COLUMNS = ['model', 'id', 'payload', 'grant_id', 'user_code', 'uid', 'account_id', 'session_uid', 'expires_at'] as const;
type SavedRow = { model: string; id: string; payload: string; grant_id: string | null; user_code: string | null; uid: string | null; account_id: string | null; session_uid: string | null; expires_at: number | null };

function toPayload(row: StoredRow | null | undefined): AdapterPayload | undefined {
  if (!row) return undefined;
  const payload = JSON.parse(row.payload) as AdapterPayload;
  // PostgreSQL returns bigint as a string.
  return row.consumed_at === null ? payload : { ...payload, consumed: Number(row.consumed_at) };
}

/** `companion`: the account read with a token that names one (payload-reads.ts); the provider's adapter only. */
export function createAdapterClass(db: Database, clock: Clock, options: { companion?: CompanionRead } = {}): OidcAdapterClass {
  const { knex } = db;
  const reads = createPayloadReads(knex, db.dialect, options.companion);
  // The adapter's own hot statements, compiled once (compiled-statements.ts); the model is a parameter.
  const saves = compiledStatements<SavedRow>(knex, SAVED_COLUMNS);
  const deletes = compiledStatements<{ model: string; id: string }>(knex, ['model', 'id']);
  const consumes = compiledStatements<{ model: string; id: string; at: number }>(knex, ['model', 'id', 'at']);
  const claims = compiledStatements<{ model: string; id: string; at: number; now: number }>(knex, ['model', 'id', 'at', 'now']);
  const lookups = compiledStatements<{ model: string; value: string; now: number }>(knex, ['model', 'value', 'now']);
  const deferred = createDeferredWrites(db);
  /** A save or delete: kept for the end of the request when it can be (deferred-writes.ts), else sent now. */
  const saveOrDelete = async (write: KeptWrite): Promise<void> => {
    if (!(await deferred.defer(write))) await write.statement();
  };
  /**
   * Before a read of `model` (by id, or by uid or user code when `id` is undefined): sends the kept
   * writes it could see, the row itself and, for a read that brings its Grant and Session, theirs.
   */
  const beforeRead = (model: string, id?: string): Promise<void> | undefined =>
    deferred.flushIf((w) => (w.model === model && (id === undefined || w.id === id)) || (readsWithGrantAndSession(model) && SNAPSHOT_MODELS.has(w.model)));
  /**
   * Every write that can change a row the request's snapshot holds (a Grant or a Session: SNAPSHOT_MODELS)
   * drops that snapshot before and after it. Writes to other models (an Interaction saved or destroyed,
   * a token issued, consumed or revoked by grant) leave it: they cannot change those rows.
   */
  const write = async <T>(changesSnapshotRows: boolean, statement: () => Promise<T>): Promise<T> => {
    if (!changesSnapshotRows) return statement();
    reads.forgetSnapshot();
    try {
      return await statement();
    } finally {
      reads.forgetSnapshot();
    }
  };

  return class OidcPayloadAdapter implements OneTimeStore {
    /** Whether this model's writes can change a row a request's snapshot holds. */
    private readonly changesSnapshotRows: boolean;

    constructor(readonly model: string) {
      this.changesSnapshotRows = SNAPSHOT_MODELS.has(model);
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      // A number, even zero or negative (ReplayDetection can pass those), is a lifetime; anything else is "forever".
      const now = clock.now();
      const expiresAt = typeof expiresIn === 'number' && Number.isFinite(expiresIn) ? now + expiresIn * 1000 : null;
      const row: SavedRow = {
        model: this.model,
        id,
        payload: JSON.stringify(payload),
        grant_id: grantIdOf(this.model, payload),
        user_code: stringOrNull(payload.userCode),
        uid: stringOrNull(payload.uid),
        account_id: accountIdOf(this.model, payload),
        session_uid: sessionUidOf(this.model, payload),
        expires_at: expiresAt,
      };
      if (this.model === 'ReplayDetection') return write(false, () => this.insertOnce(row, now));
      const statement = () =>
        saves.statement(
          'upsert',
          (p) =>
            knex(TABLE)
              .insert({ ...p, consumed_at: null })
              .onConflict(['model', 'id'])
              // consumed_at is left out on purpose: re-saving must not undo a consume.
              .merge(['payload', 'grant_id', 'user_code', 'uid', 'account_id', 'session_uid', 'expires_at']),
          row,
        );
      await write(this.changesSnapshotRows, () => saveOrDelete({ kind: 'upsert', model: this.model, id, statement }));
    }

    /** The first save of a jti wins; a row past its expiry no longer counts as seen. */
    private async insertOnce(row: SavedRow, now: number): Promise<void> {
      await knex(TABLE).where({ model: this.model, id: row.id }).andWhere('expires_at', '<=', now).del();
      try {
        await knex(TABLE).insert({ ...row, consumed_at: null });
      } catch (err) {
        if (isUniqueViolation(err)) throw new errors.InvalidRequest('this proof or assertion was already used (replay detected)');
        throw err;
      }
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      const known = reads.takeSnapshot(this.model, { id });
      if (known !== undefined) return toPayload(known);
      // Awaited only when there is something to send: concurrent finds of one id must still meet in one tick.
      const sending = beforeRead(this.model, id);
      if (sending) await sending;
      return toPayload(await reads.byId(this.model, id, clock.now()));
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const known = reads.takeSnapshot(this.model, { uid });
      if (known !== undefined) return toPayload(known);
      await beforeRead(this.model);
      return this.findOne({ uid });
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      await beforeRead(this.model);
      return this.findOne({ user_code: userCode });
    }

    async consume(id: string): Promise<void> {
      await deferred.flushIf();
      if ((await write(this.changesSnapshotRows, () => this.markConsumed(id, false))) === 1) return;
      // Another request consumed it first (or revoked it): this one lost, and tells oidc-provider so.
      if (this.model === 'PushedAuthorizationRequest') {
        throw new errors.InvalidRequestUri('request_uri is invalid, expired, or was already used');
      }
      const reuse = GRANT_SOURCE_REUSE[this.model];
      if (!reuse) throw new errors.InvalidRequest(`${this.model} was already used`);
      await write(true, () => this.revokeGrantOf(id)); // deletes the Grant row
      throw new errors.InvalidGrant(reuse);
    }

    async claim(id: string): Promise<boolean> {
      await deferred.flushIf();
      return (await write(this.changesSnapshotRows, () => this.markConsumed(id, true))) === 1;
    }

    /** The conditional update both rely on; its row count is the whole decision. */
    private async markConsumed(id: string, unexpiredOnly: boolean): Promise<number> {
      const now = clock.now();
      const at = Math.floor(now / 1000);
      const unconsumed = (p: { model: string; id: string }) => knex(TABLE).where({ model: p.model, id: p.id }).whereNull('consumed_at');
      // oidc-provider judges expiry itself (with ignoreExpiration) before it consumes; our callers ask us.
      const result = unexpiredOnly
        ? await claims.statement(
            'claim',
            (p) =>
              unconsumed(p)
                .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', p.now))
                .update({ consumed_at: p.at }),
            { model: this.model, id, at, now },
          )
        : await consumes.statement('consume', (p) => unconsumed(p).update({ consumed_at: p.at }), { model: this.model, id, at });
      return changedRowsOf(result);
    }

    /**
     * The reuse answer: the Grant row first, so that whatever the winner saves from now on names a grant
     * that no longer exists, then every token of the grant. A row already gone was revoked by whoever
     * deleted it (an earlier loser, or oidc-provider's own reuse check).
     */
    private async revokeGrantOf(id: string): Promise<void> {
      const row = (await knex(TABLE).where({ model: this.model, id }).first('grant_id')) as { grant_id: string | null } | undefined;
      if (!row?.grant_id) return;
      await knex(TABLE).where({ model: 'Grant', id: row.grant_id }).del();
      await this.revokeByGrantId(row.grant_id);
    }

    async destroy(id: string): Promise<void> {
      const statement = () => deletes.statement('destroy', (p) => knex(TABLE).where({ model: p.model, id: p.id }).del(), { model: this.model, id });
      await write(this.changesSnapshotRows, () => saveOrDelete({ kind: 'delete', model: this.model, id, statement }));
    }

    /**
     * Not limited to this.model: the provider calls it on one model and expects every token of the grant
     * gone (its own in-memory adapter keeps one grant index across the token models), and on some paths it
     * calls it only on the models the client's grant types allow, e.g. not RefreshToken. Limited to those
     * token models, as that adapter is: an Interaction that names the grant must survive — when another
     * account logs in, the provider revokes the old session's grants and then resumes that interaction.
     */
    async revokeByGrantId(grantId: string): Promise<void> {
      await deferred.flushIf(); // the grant's tokens saved in this request must be there to be deleted
      await write(false, () => knex(TABLE).where({ grant_id: grantId }).whereIn('model', GRANT_TOKEN_MODELS).del());
    }

    private async findOne(lookup: Lookup): Promise<AdapterPayload | undefined> {
      const [column, value] = 'uid' in lookup ? ['uid', lookup.uid] : ['user_code', lookup.user_code];
      const result = await lookups.statement(
        column,
        (p) =>
          knex(TABLE)
            .select('payload', 'consumed_at')
            .where({ model: p.model, [column]: p.value })
            .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', p.now))
            .first(),
        { model: this.model, value, now: clock.now() },
      );
      return toPayload(rowsOf<StoredRow>(result)[0]);
    }
  };
}
