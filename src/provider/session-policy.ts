/**
 * Session timeouts inside oidc-provider (DESIGN §6). Rules enforced here:
 * - `ttl.Session`: oidc-provider saves the session on every request that uses it, with the lifetime
 *   this returns — the idle timeout, capped by what is left of the absolute lifetime. So the session
 *   (its stored row and its `exp`) ends exactly when it has been idle too long or lived too long, and
 *   with it everything bound to it: `prompt=none` gets `login_required`, and refresh and access tokens
 *   issued without `offline_access` stop working (oidc-provider's `expiresWithSession`);
 * - `session_ended` (a login Check): a browser that comes back with the cookie of a session that ended
 *   that way is asked to log in with a note saying why (the check's details carry the message); after a
 *   `prompt=none` request the note waits for the next visible login;
 * - the sweeper hands each ended session here once, and every relying party of it with a back-channel
 *   logout URI is sent a logout token by oidc-provider's own Client#backchannelLogout.
 */
import Provider, { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import type { Clock } from '../clock.js';
import { endNotice, sessionTtlSeconds, type SessionEndNotice, type SessionPolicy, type SessionTimes } from '../policies/session.js';
import type { ClaimedSession, SessionEndings } from '../store/session-expiry.js';

/** The key of the note in the login prompt's details (see interactionDetails().prompt.details). */
export const SESSION_ENDED_DETAIL = 'session_ended';

/** ttl.Session: the session's lifetime from this save on. */
export function sessionTtl(policy: SessionPolicy, clock: Clock) {
  return (_ctx: KoaContextWithOIDC, session: SessionTimes): number => sessionTtlSeconds(policy, session, Math.floor(clock.now() / 1000));
}

/** The login Check that notices a cookie naming a session that ended by timeout. */
export function sessionEndedCheck(endings: SessionEndings, policy: SessionPolicy) {
  const { Check } = interactionPolicy;
  // The check and its details both need the reason; look it up once per request.
  const reasons = new WeakMap<object, Promise<SessionEndNotice | undefined>>();
  const noticeForCookie = async (ctx: KoaContextWithOIDC, id: string): Promise<SessionEndNotice | undefined> => {
    const reason = await endings.reasonFor(id);
    if (!reason) return undefined;
    // prompt=none cannot show the note, and its response replaces the cookie with the empty session's id:
    // hand the reason on to that id, so the visible login that follows (an SPA's, say) still explains.
    const replacement = ctx.oidc.session?.jti;
    if (ctx.oidc.prompts.has('none') && replacement && replacement !== id) {
      await endings.carryOver(replacement, reason, policy.idleTimeoutSeconds);
    }
    return endNotice(policy, reason);
  };
  const noticeFor = (ctx: KoaContextWithOIDC): Promise<SessionEndNotice | undefined> => {
    let found = reasons.get(ctx);
    if (!found) {
      // oidc-provider has already replaced an ended session with an empty one; the cookie still names the old id.
      const id = ctx.oidc.cookies.get(ctx.oidc.provider.cookieName('session'), { signed: true });
      found = id ? noticeForCookie(ctx, id) : Promise.resolve(undefined);
      reasons.set(ctx, found);
    }
    return found;
  };
  return new Check(
    'session_ended',
    'the session ended because it was idle or reached its maximum lifetime',
    async (ctx) => {
      if (ctx.oidc.session?.accountId) return Check.NO_NEED_TO_PROMPT;
      return (await noticeFor(ctx)) ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
    },
    async (ctx) => ({ [SESSION_ENDED_DETAIL]: await noticeFor(ctx) }),
  );
}

interface LogoutCapableClient {
  clientId: string;
  backchannelLogoutUri?: string;
  backchannelLogout(sub: string, sid: string | undefined): Promise<void>;
}

/** Sends a logout token to every relying party of an ended session that has a back-channel logout URI. */
export async function sendBackchannelLogouts(provider: Provider, session: ClaimedSession): Promise<void> {
  const { accountId, authorizations = {} } = session.payload;
  if (!accountId) return;
  const failures: unknown[] = [];
  await Promise.all(
    Object.entries(authorizations).map(async ([clientId, authorization]) => {
      const client = (await provider.Client.find(clientId)) as unknown as LogoutCapableClient | undefined;
      if (!client?.backchannelLogoutUri) return;
      try {
        await client.backchannelLogout(accountId, authorization?.sid);
      } catch (err) {
        failures.push(new Error(`back-channel logout to client ${clientId} failed`, { cause: err }));
      }
    }),
  );
  if (failures.length) throw new AggregateError(failures, `back-channel logout failed for ${failures.length} client(s) of an ended session`);
}
