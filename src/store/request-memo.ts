/**
 * Reads remembered for the rest of one request (issue 13: read each thing once per request), and the
 * oidc-provider adapter that uses them. Rules:
 * - a value lives only as long as its request (a WeakMap keyed by the request object): the next request
 *   reads the database again, so whatever another request or instance changed is seen as before;
 * - without a request (timers, the CLI, start-up) nothing is remembered;
 * - every hit is a fresh copy (values are kept as JSON), so a caller that changes what it got cannot
 *   change what the next caller gets, just as two reads of the database would not share an object;
 * - only rows that were found are remembered, never an absence.
 * The adapter (withRequestMemo):
 * - find and findByUid answer from the request's memory when the row was read in it before;
 * - upsert writes through to a row this request knows (keeping its consumed mark: a re-save never
 *   clears it in the database either); a row it has not read is forgotten, since whether it was consumed
 *   is the database's to say; a save with a lifetime of zero or less (already expired) is forgotten;
 * - consume, destroy and claim forget the row, and revokeByGrantId forgets the whole request's memory
 *   (it deletes rows of every token model); one-time semantics stay decided by consume's and claim's row
 *   count in the database, never by a remembered find;
 * - anything that fails forgets what it touched.
 */
import type { AdapterPayload, OidcAdapterClass } from './oidc-adapter.js';

/** The request being served (its koa ctx), or undefined outside one. */
export type CurrentRequest = () => object | undefined;

export interface RequestMemo {
  /** The value remembered under (space, key) in this request, as a fresh copy; undefined when none. */
  recall<T>(space: string, key: string): T | undefined;
  remember(space: string, key: string, value: unknown): void;
  /** Forgets one key, or the whole space when no key is given. */
  forget(space: string, key?: string): void;
  /** Forgets everything this request remembered. */
  forgetAll(): void;
}

export function createRequestMemo(currentRequest: CurrentRequest): RequestMemo {
  const byRequest = new WeakMap<object, Map<string, Map<string, string>>>();
  const spaceOf = (space: string, create: boolean): Map<string, string> | undefined => {
    const request = currentRequest();
    if (!request) return undefined;
    let spaces = byRequest.get(request);
    if (!spaces) {
      if (!create) return undefined;
      spaces = new Map();
      byRequest.set(request, spaces);
    }
    let entries = spaces.get(space);
    if (!entries && create) spaces.set(space, (entries = new Map()));
    return entries;
  };
  return {
    recall<T>(space: string, key: string): T | undefined {
      const json = spaceOf(space, false)?.get(key);
      return json === undefined ? undefined : (JSON.parse(json) as T);
    },
    remember(space, key, value) {
      spaceOf(space, true)?.set(key, JSON.stringify(value));
    },
    forget(space, key) {
      if (key === undefined) spaceOf(space, false)?.clear();
      else spaceOf(space, false)?.delete(key);
    },
    forgetAll() {
      const request = currentRequest();
      if (request) byRequest.delete(request);
    },
  };
}

/** Wraps the storage adapter so that each request reads a row at most once (see the rules above). */
export function withRequestMemo(Base: OidcAdapterClass, memo: RequestMemo): OidcAdapterClass {
  return class RequestMemoAdapter extends Base {
    private readonly ids: string;
    private readonly uids: string;
    constructor(model: string) {
      super(model);
      this.ids = `${model}:id`;
      this.uids = `${model}:uid`;
    }

    override async find(id: string): Promise<AdapterPayload | undefined> {
      const known = memo.recall<AdapterPayload>(this.ids, id);
      if (known) return known;
      const found = await super.find(id);
      if (found) memo.remember(this.ids, id, found);
      return found;
    }

    override async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const known = memo.recall<AdapterPayload>(this.uids, uid);
      if (known) return known;
      const found = await super.findByUid(uid);
      if (found) memo.remember(this.uids, uid, found);
      return found;
    }

    override async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      const known = memo.recall<AdapterPayload>(this.ids, id);
      this.forgetRow(id);
      await super.upsert(id, payload, expiresIn);
      const expired = typeof expiresIn === 'number' && !(expiresIn > 0);
      if (!known || expired) return;
      const saved = known.consumed === undefined ? payload : { ...payload, consumed: known.consumed };
      memo.remember(this.ids, id, saved);
      if (typeof payload.uid === 'string') memo.remember(this.uids, payload.uid, saved);
    }

    override async consume(id: string): Promise<void> {
      this.forgetRow(id);
      try {
        await super.consume(id);
      } catch (err) {
        // A lost consume revokes the grant's rows (oidc-adapter.ts): nothing remembered may outlive that.
        memo.forgetAll();
        throw err;
      }
    }

    override async claim(id: string): Promise<boolean> {
      this.forgetRow(id);
      return super.claim(id);
    }

    override async destroy(id: string): Promise<void> {
      this.forgetRow(id);
      await super.destroy(id);
    }

    override async revokeByGrantId(grantId: string): Promise<void> {
      memo.forgetAll();
      await super.revokeByGrantId(grantId);
    }

    /** The row by id, and every uid lookup of this model (one of them may be this row). */
    private forgetRow(id: string): void {
      memo.forget(this.ids, id);
      memo.forget(this.uids);
    }
  };
}
