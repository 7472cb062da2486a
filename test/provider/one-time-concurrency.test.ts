/**
 * "One-time" means one time under concurrency (issue 8): 50 concurrent redemptions of one authorization
 * code, and 50 concurrent refreshes of one rotated refresh token (public client `pub`, which rotates),
 * on one instance and on two instances racing each other on one database. Exactly one request wins and
 * every other gets 400 invalid_grant. Because every loser is a detected reuse, the grant is revoked:
 * afterwards no token chain survives — not even the winner's, which it may have saved after the
 * revocation — so its access token fails at userinfo and introspection and its refresh token is refused.
 * The same holds for a DPoP proof (its jti is stored once, by oidc-provider's ReplayDetection): 50
 * token requests carrying one proof, one accepted.
 * PostgreSQL runs with a pool of 20 per instance, and the racers go out over sockets opened beforehand
 * (test/support/racer.ts), so the requests really do overlap.
 */
import crypto from 'node:crypto';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, CONFIDENTIAL_SECRET, RP, type RunningService } from '../support/service.js';
import { Browser } from '../support/browser.js';
import { Racer } from '../support/racer.js';
import { discover, TEST_USER } from '../support/rp.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { systemClock } from '../../src/clock.js';
import type { Database } from '../../src/store/db.js';

const RACERS = 50;

interface TokenSet {
  access_token: string;
  refresh_token?: string;
}
interface Outcome {
  kind: 'success' | 'invalid_grant' | 'other';
  status: number;
  tokens?: TokenSet;
  error?: string;
}

/** Counts each label (zero counts left out, so a failing diff reads as the figures). */
function tally(labels: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const l of labels) counts[l] = (counts[l] ?? 0) + 1;
  return counts;
}

describe.each(dialects)('one-time grants under concurrency on %s', (dialect) => {
  let db: TestDatabase;
  let twin: Database;
  let a: RunningService;
  let b: RunningService;
  const racer = new Racer(RACERS);

  async function tokenRequest(origin: string, params: Record<string, string>, headers: Record<string, string> = {}): Promise<Outcome> {
    const res = await racer.request(new URL('/token', origin), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
      body: new URLSearchParams(params).toString(),
    });
    const body = JSON.parse(res.body) as TokenSet & { error?: string };
    if (res.status === 200) return { kind: 'success', status: 200, tokens: body };
    if (res.status === 400 && body.error === 'invalid_grant') return { kind: 'invalid_grant', status: 400 };
    return { kind: 'other', status: res.status, ...(body.error ? { error: body.error } : {}) };
  }

  beforeAll(async () => {
    db = await createTestDatabase(dialect, { poolMax: 20 });
    twin = db.openTwin();
    a = await startService({ db });
    b = await startService({ db: twin, issuerPort: Number(new URL(a.url).port), clientsFile: a.config.clientsFile });
    await createLocalAccount(db, systemClock, TEST_USER);
  });
  afterAll(async () => {
    racer.close();
    await a.close();
    await b.close();
    await twin.close();
    await db.close();
  });

  /** Logs TEST_USER in for `pub` with offline_access and returns an unredeemed code. */
  async function authorize(): Promise<{ code: string; verifier: string }> {
    const config = await discover(a.url, 'pub', oidc.None(), { token_endpoint_auth_method: 'none' });
    const verifier = oidc.randomPKCECodeVerifier();
    const authUrl = oidc.buildAuthorizationUrl(config, {
      redirect_uri: RP,
      scope: 'openid email offline_access',
      prompt: 'consent',
      state: oidc.randomState(),
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const browser = new Browser(a.url);
    let page = await browser.go(authUrl.toString());
    page = await browser.submit(page, /\/login$/, { email: TEST_USER.email, password: TEST_USER.password });
    if (page.html.includes('/consent"')) page = await browser.submit(page, /\/consent$/, {});
    if (!page.url.startsWith(RP)) throw new Error(`login did not reach the RP: ${page.status} ${page.url}`);
    return { code: new URL(page.url).searchParams.get('code')!, verifier };
  }

  const redeem = (origin: string, code: string, verifier: string) =>
    tokenRequest(origin, { client_id: 'pub', grant_type: 'authorization_code', code, redirect_uri: RP, code_verifier: verifier });
  const refresh = (origin: string, refreshToken: string) => tokenRequest(origin, { client_id: 'pub', grant_type: 'refresh_token', refresh_token: refreshToken });

  async function userinfoStatus(accessToken: string): Promise<number> {
    return (await fetch(`${a.url}/me`, { headers: { authorization: `Bearer ${accessToken}` } })).status;
  }
  async function introspectActive(token: string): Promise<boolean> {
    const res = await fetch(`${a.url}/token/introspection`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ client_id: 'pub', token }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { active: boolean }).active;
  }

  /** A grant whose tokens all work: the control that shows the "dead" checks below can tell. */
  async function expectAlive(tokens: TokenSet): Promise<void> {
    expect(await userinfoStatus(tokens.access_token)).toBe(200);
    expect(await introspectActive(tokens.access_token)).toBe(true);
  }

  /** Every chain the race produced is dead: userinfo 401, introspection inactive, refresh invalid_grant. */
  async function expectAllDead(outcomes: Outcome[], grantIds: string[]): Promise<void> {
    for (const o of outcomes.filter((x) => x.kind === 'success')) {
      expect(await userinfoStatus(o.tokens!.access_token)).toBe(401);
      expect(await introspectActive(o.tokens!.access_token)).toBe(false);
      expect(await introspectActive(o.tokens!.refresh_token!)).toBe(false);
      expect((await refresh(a.url, o.tokens!.refresh_token!)).kind).toBe('invalid_grant');
    }
    // And in the store: the grant row is gone, so any token saved after the revocation names nothing.
    expect(await db.knex('oidc_payloads').where({ model: 'Grant' }).whereIn('id', grantIds)).toHaveLength(0);
  }

  const grantIdsOf = async (): Promise<string[]> =>
    (await db.knex('oidc_payloads').where({ model: 'Grant' }).select('id')).map((r: { id: string }) => r.id);

  async function raceCode(origins: string[]): Promise<Outcome[]> {
    const before = new Set(await grantIdsOf());
    const { code, verifier } = await authorize();
    const grantIds = (await grantIdsOf()).filter((id) => !before.has(id));
    expect(grantIds).toHaveLength(1);
    await racer.warm(...origins);
    const outcomes = await Promise.all(Array.from({ length: RACERS }, (_, i) => redeem(origins[i % origins.length]!, code, verifier)));
    expect(tally(outcomes.map((o) => o.kind))).toEqual({ success: 1, invalid_grant: RACERS - 1 });
    // Reuse was detected (49 losers), so the grant is revoked and even the winner's chain is dead.
    await expectAllDead(outcomes, grantIds);
    return outcomes;
  }

  async function raceRefresh(origins: string[]): Promise<Outcome[]> {
    const before = new Set(await grantIdsOf());
    const { code, verifier } = await authorize();
    const grantIds = (await grantIdsOf()).filter((id) => !before.has(id));
    const first = await redeem(a.url, code, verifier);
    expect(first.kind).toBe('success');
    // Rotate once, alone: the rotated token and its access token work (the control for the checks below).
    const rotated = await refresh(origins[origins.length - 1]!, first.tokens!.refresh_token!);
    expect(rotated.kind).toBe('success');
    expect(rotated.tokens!.refresh_token).not.toBe(first.tokens!.refresh_token);
    await expectAlive(rotated.tokens!);

    await racer.warm(...origins);
    const outcomes = await Promise.all(Array.from({ length: RACERS }, (_, i) => refresh(origins[i % origins.length]!, rotated.tokens!.refresh_token!)));
    expect(tally(outcomes.map((o) => o.kind))).toEqual({ success: 1, invalid_grant: RACERS - 1 });
    // Reuse was detected, so the grant is revoked: the winner's new chain and the rotated one are dead.
    await expectAllDead([...outcomes, rotated], grantIds);
    return outcomes;
  }

  test(`${RACERS} concurrent redemptions of one code on one instance: one success, no chain survives`, async () => {
    await raceCode([a.url]);
  });

  test(`${RACERS} concurrent refreshes of one rotated refresh token on one instance: one success, no chain survives`, async () => {
    await raceRefresh([a.url]);
  });

  test(`two instances race ${RACERS} redemptions of one code: one success, no chain survives`, async () => {
    await raceCode([a.url, b.url]);
  });

  test(`two instances race ${RACERS} refreshes of one rotated refresh token: one success, no chain survives`, async () => {
    await raceRefresh([a.url, b.url]);
  });

  test(`${RACERS} token requests with one DPoP proof, on two instances: one is accepted`, async () => {
    const { publicKey, privateKey } = await jose.generateKeyPair('ES256');
    const proof = await new jose.SignJWT({ htm: 'POST', htu: `${a.url}/token`, jti: crypto.randomUUID() })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await jose.exportJWK(publicKey) })
      .setIssuedAt()
      .sign(privateKey);
    const basic = `Basic ${Buffer.from(`machine:${CONFIDENTIAL_SECRET}`).toString('base64')}`;
    await racer.warm(a.url, b.url);
    const outcomes = await Promise.all(
      Array.from({ length: RACERS }, (_, i) =>
        tokenRequest([a.url, b.url][i % 2]!, { grant_type: 'client_credentials', scope: 'openid' }, { authorization: basic, dpop: proof }),
      ),
    );
    const statuses = outcomes.map((o) => (o.kind === 'success' ? `200 ${(o.tokens as { token_type?: string }).token_type}` : `${o.status}`));
    expect(tally(statuses)).toEqual({ '200 DPoP': 1, '400': RACERS - 1 });
  });

  test('a lone redemption and a lone rotation keep their chain (no false reuse)', async () => {
    const { code, verifier } = await authorize();
    const first = await redeem(b.url, code, verifier);
    expect(first.kind).toBe('success');
    const next = await refresh(a.url, first.tokens!.refresh_token!);
    expect(next.kind).toBe('success');
    await expectAlive(next.tokens!);
    const again = await refresh(b.url, next.tokens!.refresh_token!);
    expect(again.kind).toBe('success');
    await expectAlive(again.tokens!);
  });
});
