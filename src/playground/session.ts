/**
 * The browser's playground session. Rules:
 * - the cookie holds only an opaque random id (signed, httpOnly, SameSite=Lax, path /playground);
 * - everything else (pending requests with their PKCE verifiers, tokens, results) lives server-side in
 *   the store under that id, with an expiry, so one person's tokens are never shown to another;
 * - every form carries a CSRF token bound to the session id; a missing or wrong one is refused;
 * - a session keeps only a few pending requests (the newest), so a page reloaded many times stays small.
 */
import crypto from 'node:crypto';
import type { Context } from 'koa';
import type { RequestSpec } from './request-spec.js';
import type { RunResult, Observation } from './results.js';

/** The small storage interface the composition root hands in (the oidc adapter under its own model). */
export interface PlaygroundStorage {
  find(id: string): Promise<unknown>;
  upsert(id: string, payload: never, expiresIn: number): Promise<void>;
}

export interface CsrfTokens {
  tokenFor(bindTo: string): string;
  verify(bindTo: string, token: unknown): boolean;
}

export interface PendingRequest {
  state: string;
  nonce: string;
  verifier: string;
  spec: RequestSpec;
  authUrl: string;
  scenario?: { id: string; step: number };
}

export interface ScenarioProgress {
  id: string;
  /** What each finished step observed, in order. */
  observations: Observation[];
}

export interface PlaygroundState {
  pending: PendingRequest[];
  result?: RunResult;
  scenario?: ScenarioProgress;
  /** The language the person picked on a playground page (otherwise Accept-Language decides). */
  lang?: string;
}

export const COOKIE = 'nordlys_playground';
const SESSION_SECONDS = 3600;
const MAX_PENDING = 5;

export interface SessionHandle {
  id: string;
  state: PlaygroundState;
  csrfToken: string;
  save(): Promise<void>;
  remember(pending: PendingRequest): void;
  /** Takes (and forgets) the pending request with this state value. */
  take(state: string): PendingRequest | undefined;
}

export function createSessions(storage: PlaygroundStorage, csrf: CsrfTokens) {
  const bind = (id: string) => `playground\n${id}`;

  async function load(ctx: Context): Promise<SessionHandle> {
    // The id is ours only if its signature checks; an expired one keeps its id with a fresh state.
    let id = ctx.cookies.get(COOKIE, { signed: true });
    if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) {
      id = crypto.randomBytes(32).toString('base64url');
      ctx.cookies.set(COOKIE, id, { signed: true, httpOnly: true, sameSite: 'lax', path: '/playground', secure: ctx.secure, overwrite: true });
    }
    const sessionId = id;
    const current = ((await storage.find(id)) as PlaygroundState | undefined) ?? { pending: [] };
    return {
      id: sessionId,
      state: current,
      csrfToken: csrf.tokenFor(bind(sessionId)),
      save: () => storage.upsert(sessionId, current as never, SESSION_SECONDS),
      remember(pending) {
        current.pending = [...current.pending, pending].slice(-MAX_PENDING);
      },
      take(stateParam) {
        const found = current.pending.find((p) => p.state === stateParam);
        current.pending = current.pending.filter((p) => p !== found);
        return found;
      },
    };
  }

  return {
    load,
    verifyCsrf: (session: SessionHandle, token: unknown) => csrf.verify(bind(session.id), token),
  };
}

export type Sessions = ReturnType<typeof createSessions>;
