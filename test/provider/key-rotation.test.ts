/**
 * Signing keys: generated once and kept in the store; after `keys rotate` the new key is published in
 * JWKS before it signs; once it signs, tokens signed by the old key still verify until they expire.
 */
import * as oidc from 'openid-client';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { dialects, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, CONFIDENTIAL_SECRET, type RunningService } from '../support/service.js';
import { codeFlow, discover, TEST_USER } from '../support/rp.js';
import { createLocalAccount, describeKeys, rotateKeys } from '../../src/cli/commands.js';
import { ManualClock } from '../support/manual-clock.js';

describe.each(dialects)('signing key rotation on %s', (dialect) => {
  let db: TestDatabase;
  let server: RunningService;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    server = await startService({ db, clock, env: { KEY_PUBLISH_SECONDS: '3600', ID_TOKEN_TTL_SECONDS: '600' } });
    await createLocalAccount(db, clock, TEST_USER);
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  const jwks = async () => (await (await fetch(`${server.url}/jwks`)).json()) as JSONWebKeySet;
  const kids = async () => (await jwks()).keys.map((k) => k.kid);
  const idToken = async () => {
    const config = await discover(server.url, 'conf', oidc.ClientSecretBasic(CONFIDENTIAL_SECRET));
    const { tokens } = await codeFlow(config, server.url);
    return tokens.id_token!;
  };

  test('first start generated one RS256 and one ES256 key, published without private parts', async () => {
    const keys = (await jwks()).keys;
    expect(keys.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    for (const k of keys) expect(k).not.toHaveProperty('d');
    // A restart does not make new keys.
    await server.close();
    server = await startService({ db, clock, env: { KEY_PUBLISH_SECONDS: '3600', ID_TOKEN_TTL_SECONDS: '600' }, clientsFile: server.config.clientsFile });
    expect((await jwks()).keys.map((k) => k.kid).sort()).toEqual(keys.map((k) => k.kid).sort());
  });

  test('rotate: published first, signing after the publish delay, old key kept for verification', async () => {
    const oldToken = await idToken();
    const oldKid = decodeProtectedHeader(oldToken).kid!;

    const created = await rotateKeys(db, clock, 3600);
    const newKid = created.find((k) => k.alg === 'RS256')!.kid;
    expect(await server.service.reloadKeys()).toBe(true);
    expect(await kids()).toContain(newKid);
    expect(decodeProtectedHeader(await idToken()).kid).toBe(oldKid);

    clock.advance(3601 * 1000);
    expect(await server.service.reloadKeys()).toBe(true);
    const rotatedToken = await idToken();
    expect(decodeProtectedHeader(rotatedToken).kid).toBe(newKid);
    expect(await kids()).toContain(oldKid);
    const set = createLocalJWKSet(await jwks());
    await expect(jwtVerify(oldToken, set, { issuer: server.url })).resolves.toBeDefined();
    await expect(jwtVerify(rotatedToken, set, { issuer: server.url })).resolves.toBeDefined();
    const states = await describeKeys(db, clock, 600);
    expect(states.find((k) => k.kid === oldKid)?.state).toBe('retiring');

    // Past the longest token lifetime the old key is no longer published.
    clock.advance(3600 * 1000);
    await server.service.reloadKeys();
    expect(await kids()).not.toContain(oldKid);
  });
});
