/**
 * Two instances started at once on one empty database agree on one key set: both run the migrations
 * and the first-start key generation concurrently (twin connection pools, Promise.all), then publish the
 * same JWKS and sign id_tokens with the same kid. PostgreSQL is where this can race; SQLite runs too.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import * as oidc from 'openid-client';
import { decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { openDatabase, type Database } from '../../src/store/db.js';
import { dialects, postgresUrl } from '../support/databases.js';
import { startService, CONFIDENTIAL_SECRET, type RunningService } from '../support/service.js';
import { codeFlow, discover, TEST_USER } from '../support/rp.js';
import { createLocalAccount } from '../../src/cli/commands.js';
import { systemClock } from '../../src/clock.js';

/** An empty database (nothing migrated) and a way to open a second pool onto it. */
async function emptyDatabase(dialect: 'sqlite' | 'postgres'): Promise<{ open(): Database; drop(): Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nordlys-keys-race-'));
    return { open: () => openDatabase({ sqliteFile: path.join(dir, 'nordlys.sqlite') }), drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const schema = `t_${crypto.randomBytes(6).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: postgresUrl! });
  await admin.raw(`create schema "${schema}"`);
  await admin.destroy();
  return {
    open: () => openDatabase({ databaseUrl: postgresUrl, schema, poolMax: 5 }),
    drop: async () => {
      const cleanup = knexFactory({ client: 'pg', connection: postgresUrl! });
      await cleanup.raw(`drop schema "${schema}" cascade`);
      await cleanup.destroy();
    },
  };
}

describe.each(dialects)('two instances starting at once on an empty %s database', (dialect) => {
  let empty: Awaited<ReturnType<typeof emptyDatabase>>;
  let pools: Database[] = [];
  let instances: RunningService[] = [];

  beforeAll(async () => {
    empty = await emptyDatabase(dialect);
  });
  afterAll(async () => {
    for (const i of instances) await i.close();
    for (const p of pools) await p.close();
    await empty.drop();
  });

  test('agree on one key set: the same JWKS, the same signing kid', async () => {
    pools = [empty.open(), empty.open()];
    instances = await Promise.all(pools.map((db) => startService({ db })));
    const [a, b] = instances as [RunningService, RunningService];

    const rows = await pools[0]!.knex('signing_keys').select('kid', 'alg');
    expect(rows.map((r: { alg: string }) => r.alg).sort()).toEqual(['ES256', 'RS256']);
    const generated = [...a.logs, ...b.logs].filter((l) => l.includes('"signing keys generated"'));
    expect(generated).toHaveLength(1);

    const jwks = async (r: RunningService) => ((await (await fetch(`${r.url}/jwks`)).json()) as JSONWebKeySet).keys.map((k) => k.kid).sort();
    expect(await jwks(a)).toEqual(await jwks(b));
    expect(await jwks(a)).toEqual(rows.map((r: { kid: string }) => r.kid).sort());

    await createLocalAccount(pools[0]!, systemClock, TEST_USER);
    const kidOf = async (r: RunningService) => {
      const config = await discover(r.url, 'conf', oidc.ClientSecretBasic(CONFIDENTIAL_SECRET));
      const { tokens } = await codeFlow(config, r.url);
      return decodeProtectedHeader(tokens.id_token!).kid;
    };
    const [kidA, kidB] = [await kidOf(a), await kidOf(b)];
    expect(kidA).toBeDefined();
    expect(kidA).toBe(kidB);
  });
});
