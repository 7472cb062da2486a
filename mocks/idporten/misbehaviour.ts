/**
 * How the ID-porten mock misbehaves on request, so the relying party's own checks can be exercised: a
 * tester picks one on the login page, a test may also arm one with `POST <prefix>/control/misbehave`
 * (`{ "misbehaviour": "wrong-nonce" }`; `"none"` disarms). Rules:
 * - an armed misbehaviour applies to the next id_token the token endpoint issues, once, then the mock is
 *   faithful again; it is kept in the mock's memory for half an hour at most;
 * - the id_token is rewritten after oidc-provider has built it (a documented `provider.use` middleware)
 *   and signed again with the mock's own key, so that only the named fault is wrong; `bad-signature` keeps
 *   the claims and signs with a stranger's key under the mock's kid;
 * - `lower-level` is not a token fault: the tester page logs in one level below the minimum instead.
 */
import crypto from 'node:crypto';
import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, type JWK, type JWTPayload } from 'jose';
import type { MockLogger, Now } from '../shared/deps.js';
import { ExpiringMap } from '../shared/expiring-map.js';
import type { Norwegian } from './messages.js';

export const TOKEN_MISBEHAVIOURS = {
  'wrong-nonce': { en: 'id_token with another nonce', nb: 'id_token med en annen nonce' },
  'wrong-iss': { en: 'id_token from another issuer', nb: 'id_token fra en annen utsteder' },
  'wrong-aud': { en: 'id_token for another client (aud)', nb: 'id_token for en annen klient (aud)' },
  'bad-signature': { en: 'id_token signed with a wrong key', nb: 'id_token signert med feil nøkkel' },
  expired: { en: 'expired id_token', nb: 'utløpt id_token' },
  'missing-pid': { en: 'id_token without pid', nb: 'id_token uten pid' },
  'invalid-pid': { en: 'pid with a wrong check digit', nb: 'pid med feil kontrollsiffer' },
  'missing-acr': { en: 'id_token without acr', nb: 'id_token uten acr' },
  'stale-auth-time': { en: 'auth_time an hour old (prompt=login and max_age ignored)', nb: 'auth_time en time gammel (prompt=login og max_age ignorert)' },
} satisfies Record<string, Norwegian>;

export type TokenMisbehaviour = keyof typeof TOKEN_MISBEHAVIOURS;
export const LOWER_LEVEL = { en: 'a lower level than asked', nb: 'lavere nivå enn krevd' } satisfies Norwegian;

export function isTokenMisbehaviour(value: unknown): value is TokenMisbehaviour {
  return typeof value === 'string' && Object.hasOwn(TOKEN_MISBEHAVIOURS, value);
}

const ARMED_MS = 30 * 60_000;

export interface Misbehaviours {
  arm(misbehaviour: TokenMisbehaviour | undefined): void;
  /** Takes the armed misbehaviour, if any; it applies once. */
  take(): TokenMisbehaviour | undefined;
}

export function createMisbehaviours(now: Now): Misbehaviours {
  const armed = new ExpiringMap<TokenMisbehaviour>(now);
  return {
    arm: (m) => (m ? armed.set('next', m, ARMED_MS) : armed.delete('next')),
    take() {
      const next = armed.get('next');
      armed.delete('next');
      return next;
    },
  };
}

/** A pid one check digit off: the mod-11 check rejects it. */
function brokenPid(pid: unknown): string {
  const digits = typeof pid === 'string' && /^\d{11}$/.test(pid) ? pid : '14038541286';
  return digits.slice(0, 10) + String((Number(digits[10]) + 1) % 10);
}

function rewrite(claims: JWTPayload, misbehaviour: TokenMisbehaviour): JWTPayload {
  const c: JWTPayload = { ...claims };
  const iat = typeof c.iat === 'number' ? c.iat : 0;
  switch (misbehaviour) {
    case 'wrong-nonce': c.nonce = crypto.randomBytes(16).toString('base64url'); break;
    case 'wrong-iss': c.iss = 'https://idporten.invalid'; break;
    case 'wrong-aud': c.aud = 'another-client'; break;
    case 'expired': c.iat = iat - 7200; c.exp = iat - 3600; break;
    case 'missing-pid': delete c.pid; break;
    case 'invalid-pid': c.pid = brokenPid(c.pid); break;
    case 'missing-acr': delete c.acr; break;
    case 'stale-auth-time': c.auth_time = iat - 3600; break;
    case 'bad-signature': break;
  }
  return c;
}

async function resign(idToken: string, misbehaviour: TokenMisbehaviour, signingJwk: JWK): Promise<string> {
  const header = decodeProtectedHeader(idToken);
  const claims = rewrite(decodeJwt(idToken), misbehaviour);
  const key = misbehaviour === 'bad-signature' ? (await generateKeyPair('RS256', { extractable: true })).privateKey : await importJWK(signingJwk, 'RS256');
  return new SignJWT(claims).setProtectedHeader({ ...header, alg: 'RS256' }).sign(key);
}

/** Rewrites the token endpoint's id_token when a misbehaviour is armed. */
export function installMisbehaviours(provider: Provider, misbehaviours: Misbehaviours, signingJwk: JWK, logger: MockLogger): void {
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as { id_token?: unknown } | undefined;
    if (ctx.oidc?.route !== 'token' || ctx.status !== 200 || typeof body?.id_token !== 'string') return;
    const misbehaviour = misbehaviours.take();
    if (!misbehaviour) return;
    body.id_token = await resign(body.id_token, misbehaviour, signingJwk);
    logger.info({ misbehaviour }, 'idporten mock misbehaved as asked');
  });
}

/** `POST <prefix>/control/misbehave` with `{ misbehaviour }` (JSON or form): arms one, or `none` disarms. */
export function controlRoute(misbehaviours: Misbehaviours, parseBody: Middleware): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== '/control/misbehave') return next();
    if (ctx.method !== 'POST') {
      ctx.status = 405;
      ctx.set('Allow', 'POST');
      ctx.body = { error: 'method_not_allowed' };
      return;
    }
    try {
      await parseBody(ctx, async () => undefined);
    } catch {
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: 'the body must be JSON or a form' };
      return;
    }
    const asked = (ctx.request.body as Record<string, unknown> | undefined)?.misbehaviour;
    if (asked !== 'none' && !isTokenMisbehaviour(asked)) {
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: `misbehaviour must be none or one of ${Object.keys(TOKEN_MISBEHAVIOURS).join(', ')}` };
      return;
    }
    misbehaviours.arm(asked === 'none' ? undefined : asked);
    ctx.body = { misbehaviour: asked };
  };
}

