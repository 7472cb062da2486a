/**
 * The registry of login methods: the built-in methods declare what the policies assume of them, the
 * core reads every method from the registry (none names one), and the broker folders import nothing of
 * the store, our pages, http or the mocks.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { openMethods } from '../../src/brokers/registry.js';
import { ManualClock } from '../support/manual-clock.js';
import { appRoot } from '../../src/app-root.js';
import { BUILT_IN } from '../support/methods.js';

const deps = { clock: new ManualClock(0), callbackUrl: (id: string) => `http://localhost:3000/broker/${id}/callback`, observe: () => undefined, storedSecret: async () => 'x'.repeat(32) };
const src = (file: string) => fs.readFileSync(path.join(appRoot(), 'src', file), 'utf8');

describe('the methods registry', () => {
  test('with mocks on, the built-in methods are the facts the policies are tested with', async () => {
    const registry = await openMethods(loadConfig({ MOCKS_ENABLED: 'true' }).brokers, deps);
    expect(registry.known).toEqual(BUILT_IN.known);
    const facts = registry.methods.map(({ id, reachable, offeredByDefault, listedWhenUnreachable }) => ({
      id,
      reachable,
      ...(offeredByDefault ? { offeredByDefault } : {}),
      ...(listedWhenUnreachable ? { listedWhenUnreachable } : {}),
    }));
    expect(facts).toEqual(BUILT_IN.methods);
    expect(registry.methods.map((m) => [m.id, m.capability])).toEqual([['local', 'password'], ['idporten', 'redirect'], ['bankid-se', 'decoupled'], ['foreign-eid', 'redirect']]);
    expect(['idporten', 'bankid-se', 'local'].map(registry.nationalIdClaimOf)).toEqual(['pid', 'https://id.oidc.se/claim/personalIdentityNumber', undefined]);
  });

  test('an upstream that is not configured is not opened, but stays a name clients may use', async () => {
    const registry = await openMethods(loadConfig({ MOCKS_ENABLED: 'false' }).brokers, deps);
    expect(registry.methods.map((m) => m.id)).toEqual(['local', 'foreign-eid']);
    expect(registry.known).toEqual(['local', 'idporten', 'bankid-se', 'foreign-eid']);
  });

  test.each([
    'policies/client-policy.ts',
    'interactions/login-methods.ts',
    'interactions/broker-login.ts',
    'interactions/decoupled-login.ts',
    'interactions/decoupled-flow.ts',
    'interactions/upstream-login.ts',
    'interactions/password-login.ts',
    'provider/find-account.ts',
    'provider/create-provider.ts',
  ])('%s names no concrete login method', (file) => {
    expect(src(file)).not.toMatch(/['"`/](local|idporten|bankid-se|foreign-eid)['"`]/);
  });

  test('src/brokers imports nothing of the store, interactions, http or the mocks (the mocks themselves aside)', () => {
    const files = (fs.readdirSync(path.join(appRoot(), 'src/brokers'), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts') && !f.split(path.sep).includes('mock') && f !== 'mock-view.ts');
    const offending = files.flatMap((f) =>
      [...src(path.join('brokers', f)).matchAll(/from '([^']+)'/g)].map((m) => m[1]!).filter((spec) => /\/(store|interactions|http|mocks?)\//.test(spec)).map((spec) => `${f}: ${spec}`),
    );
    expect(files.length).toBeGreaterThan(10);
    expect(offending).toEqual([]);
  });
});
