/**
 * Every "exactly once" in the store, under concurrency (issue 8), on each dialect. On PostgreSQL each
 * race is 50 calls split over two connection pools of 20 on one database (two instances), so they
 * really overlap; SQLite, the single-instance store, races over its one connection (two connections in
 * one process would only wait out each other's busy timeouts). Outcomes are counted, not sampled:
 * - the oidc-provider adapter: one consume of a code or refresh token wins, every other is refused
 *   with invalid_grant and revokes the grant (its tokens and the Grant row); a PAR loser gets
 *   invalid_request_uri; a DPoP proof's or client assertion's jti is saved once; claim (broker states,
 *   BankID orders) is true once;
 * - e-mail codes and flow steps: one right code verifies, one completion registers or resets, one
 *   account per address;
 * - federated accounts: one account per (broker, subject) however many first logins race;
 * - rate-limit counters: no hit and no refund is lost, and no more hits get through than the policy allows.
 */
import { errors } from 'oidc-provider';
import { ManualClock } from '../support/manual-clock.js';
import type { Database } from '../../src/store/db.js';
import { createAdapterClass, type OidcAdapterClass } from '../../src/store/oidc-adapter.js';
import { createFlowRepository, type FlowRepository } from '../../src/store/flows.js';
import { createLocalAccountStore } from '../../src/store/local-accounts.js';
import { createFederatedAccountRepository } from '../../src/store/federated-accounts.js';
import { createRateLimits } from '../../src/store/rate-limits.js';
import { counterRule } from '../../src/policies/throttle.js';
import { createTestDatabase, dialects, type TestDatabase } from '../support/databases.js';

const RACERS = 50;
const HOUR = 3600;

/** Runs `RACERS` calls at once, alternating between the two pools, and settles them all. */
function race<T>(run: (db: Database, i: number) => Promise<T>, pools: [Database, Database]): Promise<PromiseSettledResult<T>[]> {
  return Promise.allSettled(Array.from({ length: RACERS }, (_, i) => run(pools[i % 2]!, i)));
}

function tally(labels: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const l of labels) counts[l] = (counts[l] ?? 0) + 1;
  return counts;
}

const fulfilled = <T>(results: PromiseSettledResult<T>[]): T[] => results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
const rejected = (results: PromiseSettledResult<unknown>[]): unknown[] => results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));

describe.each(dialects)('exactly once under concurrency on %s', (dialect) => {
  let db: TestDatabase;
  let twin: Database;
  let pools: [Database, Database];
  let clock: ManualClock;

  beforeAll(async () => {
    db = await createTestDatabase(dialect, { poolMax: 20 });
    twin = db.openTwin();
    pools = dialect === 'postgres' ? [db, twin] : [db, db];
  });
  afterAll(async () => {
    await twin.close();
    await db.close();
  });
  beforeEach(() => {
    clock = new ManualClock();
  });

  describe('oidc-provider adapter', () => {
    const adapters = (): [OidcAdapterClass, OidcAdapterClass] => [createAdapterClass(db, clock), createAdapterClass(twin, clock)];
    const on = (pool: Database, classes: [OidcAdapterClass, OidcAdapterClass]) => (pool === db ? classes[0] : classes[1]);
    const rows = async (grantId: string) =>
      (await db.knex('oidc_payloads').where({ grant_id: grantId }).orWhere({ model: 'Grant', id: grantId }).select('model', 'id').orderBy('model')).map(
        (r: { model: string; id: string }) => `${r.model}:${r.id}`,
      );

    test.each([
      ['AuthorizationCode', 'authorization code already consumed'],
      ['RefreshToken', 'refresh token already used'],
    ])('one %s consume wins; the rest get invalid_grant and the grant is revoked', async (model, detail) => {
      const classes = adapters();
      const [A] = classes;
      const grant = `g-${model}`;
      await new A('Grant').upsert(grant, { jti: grant, accountId: 'acc' }, HOUR);
      await new A(model).upsert(`${model}-1`, { jti: `${model}-1`, grantId: grant }, HOUR);
      await new A('AccessToken').upsert(`at-${model}`, { jti: `at-${model}`, grantId: grant }, HOUR);
      await new A('AccessToken').upsert(`at-other-${model}`, { jti: `at-other-${model}`, grantId: 'another-grant' }, HOUR);

      const results = await race((pool) => new (on(pool, classes))(model).consume(`${model}-1`), pools);

      expect(fulfilled(results)).toHaveLength(1);
      const losers = rejected(results);
      expect(losers).toHaveLength(RACERS - 1);
      for (const err of losers) {
        expect(err).toBeInstanceOf(errors.InvalidGrant);
        expect(err).toMatchObject({ error: 'invalid_grant', statusCode: 400, error_detail: detail });
      }
      // Revoked: the Grant row and every token of the grant, the consumed one included; other grants untouched.
      expect(await rows(grant)).toEqual([]);
      expect(await new A('AccessToken').find(`at-other-${model}`)).toBeDefined();
    });

    test('a lost PAR consume is invalid_request_uri and revokes nothing', async () => {
      const classes = adapters();
      await new classes[0]('PushedAuthorizationRequest').upsert('par-1', { jti: 'par-1' }, 60);
      const results = await race((pool) => new (on(pool, classes))('PushedAuthorizationRequest').consume('par-1'), pools);
      expect(fulfilled(results)).toHaveLength(1);
      const losers = rejected(results);
      expect(losers).toHaveLength(RACERS - 1);
      for (const err of losers) expect(err).toBeInstanceOf(errors.InvalidRequestUri);
      expect(await new classes[0]('PushedAuthorizationRequest').find('par-1')).toMatchObject({ consumed: expect.any(Number) });
    });

    test('one save of a ReplayDetection jti wins; the rest are refused with a 400; an expired one is free again', async () => {
      const classes = adapters();
      const results = await race((pool) => new (on(pool, classes))('ReplayDetection').upsert('jti-1', { jti: 'jti-1', iss: 'machine' }, 60), pools);
      expect(fulfilled(results)).toHaveLength(1);
      const losers = rejected(results);
      expect(losers).toHaveLength(RACERS - 1);
      for (const err of losers) {
        expect(err).toBeInstanceOf(errors.InvalidRequest);
        expect(err).toMatchObject({ error: 'invalid_request', statusCode: 400 });
      }
      clock.advance(60_000);
      await expect(new classes[0]('ReplayDetection').upsert('jti-1', { jti: 'jti-1', iss: 'machine' }, 60)).resolves.toBeUndefined();
      expect(await new classes[0]('ReplayDetection').find('jti-1')).toEqual({ jti: 'jti-1', iss: 'machine' });
    });

    test('claim is true for one caller; a re-save does not undo it; an expired row cannot be claimed', async () => {
      const classes = adapters();
      const [A] = classes;
      await new A('BrokerLogin').upsert('state-1', { uid: 'u1' }, 60);
      const results = await race((pool) => new (on(pool, classes))('BrokerLogin').claim('state-1'), pools);
      expect(tally(fulfilled(results).map(String))).toEqual({ true: 1, false: RACERS - 1 });

      await new A('BrokerLogin').upsert('state-1', { uid: 'u1', again: true }, 60);
      expect(await new A('BrokerLogin').claim('state-1')).toBe(false);
      // A fresh row (destroy, then save) is claimable again: how a new order replaces a finished one.
      await new A('BrokerLogin').destroy('state-1');
      await new A('BrokerLogin').upsert('state-1', { uid: 'u1' }, 60);
      expect(await new A('BrokerLogin').claim('state-1')).toBe(true);

      await new A('BankidOrder').upsert('uid-2', { state: {} }, 60);
      clock.advance(61_000);
      expect(await new A('BankidOrder').claim('uid-2')).toBe(false);
      expect(await new A('BankidOrder').claim('never-stored')).toBe(false);
    });
  });

  describe('e-mail codes and flow steps', () => {
    const settings = { codeKey: Buffer.alloc(32, 9), codeTtlSeconds: 300, flowTtlSeconds: 1800, maxAttempts: 100 };
    const repos = (): [FlowRepository, FlowRepository] => [createFlowRepository(db, clock, settings), createFlowRepository(twin, clock, settings)];
    const stores = () => [createLocalAccountStore(db, clock), createLocalAccountStore(twin, clock)] as const;
    let n = 0;

    async function verifiedFlow(kind: 'registration' | 'recovery', email: string, accountId: string | null = null): Promise<string> {
      const [flows] = repos();
      n += 1;
      const flow = await flows.create({ kind, interactionUid: `uid-${n}`, locale: 'en', email, accountId, code: '246810' });
      expect(await flows.checkCode(flow.id, '246810')).toEqual({ result: 'verified' });
      return flow.id;
    }

    test('one right code verifies; the others are told it was used; every check was counted', async () => {
      const flowRepos = repos();
      const flow = await flowRepos[0].create({ kind: 'registration', interactionUid: 'uid-code', locale: 'en', email: 'code@example.no', accountId: null, code: '135790' });
      const results = await race((pool) => (pool === db ? flowRepos[0] : flowRepos[1]).checkCode(flow.id, '135790'), pools);
      expect(tally(fulfilled(results).map((r) => r.result))).toEqual({ verified: 1, used: RACERS - 1 });
      const row = await db.knex('self_service_flows').where({ id: flow.id }).first();
      expect(row.state).toBe('verified');
      expect(Number(row.code_attempts)).toBeGreaterThanOrEqual(1);
      expect(Number(row.code_attempts)).toBeLessThanOrEqual(RACERS);
    });

    test('a resend racing the right code never replaces a code that was used', async () => {
      const flowRepos = repos();
      const flow = await flowRepos[0].create({ kind: 'recovery', interactionUid: 'uid-resend', locale: 'en', email: 'resend@example.no', accountId: null, code: '111222' });
      const results = await race((pool, i) => {
        const flows = pool === db ? flowRepos[0] : flowRepos[1];
        return i < RACERS / 2 ? flows.checkCode(flow.id, '111222').then((r) => r.result) : flows.replaceCode(flow.id, '333444', null).then((ok) => (ok ? 'replaced' : 'refused'));
      }, pools);
      const counts = tally(fulfilled(results));
      const row = await db.knex('self_service_flows').where({ id: flow.id }).first();
      // Either the right code won before any resend (then every later resend was refused and the stored
      // code is still the used one), or a resend came first and the old code no longer matches at all.
      expect(counts.verified ?? 0).toBeLessThanOrEqual(1);
      if (counts.verified === 1) {
        expect(row.state).toBe('verified');
        expect(row.code_hmac).toBe(flowRepos[0].hmac(flow.id, '111222'));
      } else {
        expect(row.state).toBe('code_sent');
        expect(counts.replaced).toBeGreaterThanOrEqual(1);
      }
    });

    test('one completion of a verified registration creates one account', async () => {
      const flowId = await verifiedFlow('registration', 'once@example.no');
      const [s1, s2] = stores();
      const results = await race((pool) => (pool === db ? s1 : s2).completeRegistration(flowId, { email: 'once@example.no', name: 'Once', passwordHash: 'h' }), pools);
      expect(tally(fulfilled(results).map((r) => (r.ok ? 'ok' : r.reason)))).toEqual({ ok: 1, not_verified: RACERS - 1 });
      expect(await db.knex('local_credentials').where({ email: 'once@example.no' })).toHaveLength(1);
    });

    test('registrations of one address in many verified flows at once: one account, the rest duplicate', async () => {
      const flowIds: string[] = [];
      for (let i = 0; i < 10; i += 1) flowIds.push(await verifiedFlow('registration', 'same@example.no'));
      const [s1, s2] = stores();
      const results = await race((pool, i) => (pool === db ? s1 : s2).completeRegistration(flowIds[i % 10]!, { email: 'same@example.no', name: 'Same', passwordHash: 'h' }), pools);
      const counts = tally(fulfilled(results).map((r) => (r.ok ? 'ok' : r.reason)));
      expect(counts.ok).toBe(1);
      expect((counts.duplicate ?? 0) + (counts.not_verified ?? 0)).toBe(RACERS - 1);
      expect(await db.knex('local_credentials').where({ email: 'same@example.no' })).toHaveLength(1);
      // Only the winner's flow was completed; a duplicate rolled its completion back.
      expect(await db.knex('self_service_flows').whereIn('id', flowIds).andWhere({ state: 'completed' })).toHaveLength(1);
    });

    test('one completion of a verified reset sets the password', async () => {
      const [s1, s2] = stores();
      const accountId = 'acc-reset';
      await db.knex('accounts').insert({ id: accountId, kind: 'local', status: 'active', name: 'Reset', created_at: clock.now(), updated_at: clock.now() });
      await db.knex('local_credentials').insert({ account_id: accountId, email: 'reset@example.no', password_hash: 'old' });
      const flowId = await verifiedFlow('recovery', 'reset@example.no', accountId);
      const results = await race((pool, i) => (pool === db ? s1 : s2).completeRecovery(flowId, accountId, `new-${i}`), pools);
      const outcomes = fulfilled(results);
      expect(tally(outcomes.map((r) => (r.ok ? 'ok' : r.reason)))).toEqual({ ok: 1, not_verified: RACERS - 1 });
      const winner = outcomes.findIndex((r) => r.ok);
      expect((await db.knex('local_credentials').where({ account_id: accountId }).first()).password_hash).toBe(`new-${winner}`);
    });
  });

  test('first logins of one upstream subject at once make one federated account', async () => {
    const repos = [createFederatedAccountRepository(db, clock), createFederatedAccountRepository(twin, clock)];
    const results = await race((pool) => repos[pool === db ? 0 : 1]!.loginWith('idporten', '14038541286', { name: 'Kari' }), pools);
    const logins = fulfilled(results);
    expect(logins).toHaveLength(RACERS);
    expect(new Set(logins.map((l) => l.accountId)).size).toBe(1);
    expect(logins.filter((l) => l.created)).toHaveLength(1);
    expect(await db.knex('federated_identities').where({ broker: 'idporten', subject: '14038541286' })).toHaveLength(1);
  });

  describe('rate-limit counters', () => {
    const limits = () => [createRateLimits(db, clock), createRateLimits(twin, clock)] as const;
    const roomy = counterRule({ kind: 'window', limit: 1000, windowSeconds: 3600 });

    test('every concurrent hit is counted', async () => {
      const [r1, r2] = limits();
      const results = await race((pool) => (pool === db ? r1 : r2).hit('count:all', roomy), pools);
      expect(fulfilled(results).every((r) => r.allowed)).toBe(true);
      expect((await r1.read('count:all'))?.hits).toBe(RACERS);
    });

    test('concurrent refunds and hits are all counted', async () => {
      const [r1, r2] = limits();
      for (let i = 0; i < RACERS; i += 1) await r1.hit('count:mixed', roomy);
      // Half refund, half hit, at once (each half on both pools): the count comes back to where it started.
      const results = await race((pool, i) => {
        const r = pool === db ? r1 : r2;
        return i < RACERS / 2 ? r.hit('count:mixed', roomy).then(() => undefined) : r.refund('count:mixed', roomy);
      }, pools);
      expect(rejected(results)).toEqual([]);
      expect((await r1.read('count:mixed'))?.hits).toBe(RACERS);
    });

    test('no more hits get through than the policy allows', async () => {
      const [r1, r2] = limits();
      const window = counterRule({ kind: 'window', limit: 5, windowSeconds: 3600 });
      const byWindow = await race((pool) => (pool === db ? r1 : r2).hit('count:window', window), pools);
      expect(fulfilled(byWindow).filter((r) => r.allowed)).toHaveLength(5);
      expect((await r1.read('count:window'))?.hits).toBe(5);

      // Three free failures, then the fourth starts a wait: exactly four are let through to be checked.
      const backoff = counterRule({ kind: 'backoff', freeFailures: 3, baseDelaySeconds: 30, maxDelaySeconds: 900, forgetAfterSeconds: 86_400 });
      const byBackoff = await race((pool) => (pool === db ? r1 : r2).hit('count:backoff', backoff), pools);
      expect(fulfilled(byBackoff).filter((r) => r.allowed)).toHaveLength(4);
      expect(await r1.read('count:backoff')).toEqual({ hits: 4, windowStartedAt: clock.now(), blockedUntil: clock.now() + 30_000 });
    });
  });
});
