/**
 * Discovery and JWKS come from memory with an ETag and a max-age; If-None-Match gets 304; CORS is
 * oidc-provider's (the request's Origin or *); a key reload swaps in a provider whose JWKS is its own.
 * The cache does not touch the database, so one dialect is enough.
 */
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startService, type RunningService } from '../support/service.js';
import { rotateKeys } from '../../src/cli/commands.js';
import { ManualClock } from '../support/manual-clock.js';

describe('published documents', () => {
  let db: TestDatabase;
  let server: RunningService;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    server = await startService({ db, clock });
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  test.each(['/.well-known/openid-configuration', '/jwks'])('%s: the same body and ETag every time, 304 for a matching If-None-Match', async (path) => {
    const first = await fetch(`${server.url}${path}`);
    const firstBody = await first.text();
    const second = await fetch(`${server.url}${path}`);
    expect(await second.text()).toBe(firstBody);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(second.headers.get('etag')).toBe(etag);
    expect(second.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    expect(second.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(second.headers.get('access-control-allow-origin')).toBe('*');

    const notModified = await fetch(`${server.url}${path}`, { headers: { 'if-none-match': etag! } });
    expect(notModified.status).toBe(304);
    expect(await notModified.text()).toBe('');
    const stale = await fetch(`${server.url}${path}`, { headers: { 'if-none-match': '"something-else"' } });
    expect(stale.status).toBe(200);
    expect(await stale.text()).toBe(firstBody);

    const head = await fetch(`${server.url}${path}`, { method: 'HEAD' });
    expect([head.status, head.headers.get('etag'), await head.text()]).toEqual([200, etag, '']);
  });

  test('CORS as oidc-provider answers: the request\'s Origin, with Vary: Origin', async () => {
    await fetch(`${server.url}/jwks`);
    const res = await fetch(`${server.url}/jwks`, { headers: { origin: 'https://rp.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('https://rp.example');
    expect(res.headers.get('vary')).toMatch(/origin/i);
    expect(res.headers.get('content-type')).toMatch(/^application\/jwk-set\+json/);
  });

  test('a key reload swaps the provider, and JWKS lists the new key with a new ETag', async () => {
    const before = await fetch(`${server.url}/jwks`);
    const kidsBefore = ((await before.json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
    const created = await rotateKeys(db, clock, 3600);
    expect(await server.service.reloadKeys()).toBe(true);
    const after = await fetch(`${server.url}/jwks`, { headers: { 'if-none-match': before.headers.get('etag')! } });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));
    const kidsAfter = ((await after.json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
    expect(kidsAfter).toEqual(expect.arrayContaining([...kidsBefore, ...created.map((k) => k.kid)]));
  });
});
