/**
 * `keys revoke KID`: the key leaves JWKS and stops signing on every instance as soon as it re-reads the
 * keys (the KEY_REFRESH_SECONDS timer; here called directly), and a fresh key takes over when it was the
 * signer. What was signed with it stops verifying: an id_token against the published JWKS, and as an
 * id_token_hint at the provider itself. Access tokens are opaque here (no JWT format is configured), so
 * no key signs them and revoking a key does not touch them: that is asserted too, so a change of format
 * would have to revisit this.
 */
import * as oidc from 'openid-client';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, CONFIDENTIAL_SECRET, type RunningService } from '../support/service.js';
import { codeFlow, discover, TEST_USER } from '../support/rp.js';
import { createLocalAccount, describeKeys, purgeExpiredKeys, revokeKey, rotateKeys } from '../../src/cli/commands.js';
import { ManualClock } from '../support/manual-clock.js';
import type { Database } from '../../src/store/db.js';
import { UnknownKeyError } from '../../src/store/signing-keys.js';

describe.each(dialects)('revoking a signing key on %s', (dialect) => {
  let db: TestDatabase;
  let twin: Database;
  let a: RunningService;
  let b: RunningService;
  const clock = new ManualClock(Date.now());
  const VERIFY = 600;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    twin = db.openTwin();
    const env = { ID_TOKEN_TTL_SECONDS: String(VERIFY), ACCESS_TOKEN_TTL_SECONDS: String(VERIFY) };
    a = await startService({ db, clock, env });
    b = await startService({ db: twin, clock, env, issuerPort: Number(new URL(a.url).port), clientsFile: a.config.clientsFile });
    await createLocalAccount(db, clock, TEST_USER);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await twin.close();
    await db.close();
  });

  const jwks = async (r: RunningService) => (await (await fetch(`${r.url}/jwks`)).json()) as JSONWebKeySet;
  const kids = async (r: RunningService) => (await jwks(r)).keys.map((k) => k.kid);
  const login = async () => {
    const config = await discover(a.url, 'conf', oidc.ClientSecretBasic(CONFIDENTIAL_SECRET));
    const { tokens } = await codeFlow(config, a.url);
    return { config, tokens };
  };

  test('the signer is withdrawn everywhere, a fresh key signs, its id_tokens no longer verify', async () => {
    const before = await login();
    const revokedKid = decodeProtectedHeader(before.tokens.id_token!).kid!;
    await expect(jwtVerify(before.tokens.id_token!, createLocalJWKSet(await jwks(b)), { issuer: a.url })).resolves.toBeDefined();

    const { replacement } = await revokeKey(db, clock, revokedKid, VERIFY);
    expect(replacement?.alg).toBe('RS256');
    // Each instance drops it when it re-reads the keys (what its refresh timer does).
    expect(await a.service.reloadKeys()).toBe(true);
    expect(await b.service.reloadKeys()).toBe(true);
    for (const r of [a, b]) {
      expect(await kids(r)).not.toContain(revokedKid);
      expect(await kids(r)).toContain(replacement!.kid);
    }
    await expect(jwtVerify(before.tokens.id_token!, createLocalJWKSet(await jwks(b)), { issuer: a.url })).rejects.toThrow(/no applicable key/i);

    // The provider itself no longer accepts it either (here as the id_token_hint of a logout).
    const logout = await fetch(`${a.url}/session/end?${new URLSearchParams({ id_token_hint: before.tokens.id_token!, client_id: 'conf' })}`);
    expect(logout.status).toBe(400);

    const after = await login();
    const newKid = decodeProtectedHeader(after.tokens.id_token!).kid;
    expect(newKid).toBe(replacement!.kid);
    await expect(jwtVerify(after.tokens.id_token!, createLocalJWKSet(await jwks(a)), { issuer: a.url })).resolves.toBeDefined();

    const states = await describeKeys(db, clock, VERIFY);
    expect(states.find((k) => k.kid === revokedKid)?.state).toBe('revoked');
    expect(states.find((k) => k.kid === replacement!.kid)?.state).toBe('signing');
  });

  test('access tokens are opaque: no key signs them, so revoking a key leaves them to token revocation', async () => {
    const { config, tokens } = await login();
    expect(tokens.access_token.split('.')).toHaveLength(1);
    const signer = decodeProtectedHeader(tokens.id_token!).kid!;
    await revokeKey(db, clock, signer, VERIFY);
    await a.service.reloadKeys();
    await expect(oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub)).resolves.toMatchObject({ sub: tokens.claims()!.sub });
  });

  test('a key that is only published is withdrawn without a replacement; purge deletes revoked keys', async () => {
    const created = await rotateKeys(db, clock, 3600);
    const pending = created.find((k) => k.alg === 'ES256')!;
    await a.service.reloadKeys();
    expect(await kids(a)).toContain(pending.kid);
    const { replacement } = await revokeKey(db, clock, pending.kid, VERIFY);
    expect(replacement).toBeUndefined();
    await a.service.reloadKeys();
    expect(await kids(a)).not.toContain(pending.kid);

    await expect(revokeKey(db, clock, 'no-such-kid', VERIFY)).rejects.toThrow(UnknownKeyError);
    const purged = await purgeExpiredKeys(db, clock, VERIFY);
    expect(purged).toContain(pending.kid);
    expect((await describeKeys(db, clock, VERIFY)).filter((k) => k.state === 'revoked')).toEqual([]);
    // Every algorithm still has its signer.
    expect((await describeKeys(db, clock, VERIFY)).filter((k) => k.state === 'signing').map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
  });
});
