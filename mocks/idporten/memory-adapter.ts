/**
 * The ID-porten mock's storage for oidc-provider: the documented adapter interface over a map of this
 * mock alone. oidc-provider's built-in memory adapter keeps one store per process and expires rows by
 * the wall clock; this one expires them by the mock's clock, so a test's manual clock ages sessions,
 * codes and interactions too. Rules: a row lives `expiresIn` seconds from its last write; `consume`
 * stamps the payload; `revokeByGrantId` removes every row of the grant; sessions are found by uid.
 */
import type { AdapterFactory, AdapterPayload } from 'oidc-provider';
import { ExpiringMap } from '../shared/expiring-map.js';
import type { Now } from '../shared/deps.js';

export function memoryAdapter(now: Now): AdapterFactory {
  const rows = new ExpiringMap<AdapterPayload>(now);
  const first = (model: string, match: (payload: AdapterPayload) => boolean) => {
    for (const [, payload] of rows.live(`${model}:`)) if (match(payload)) return payload;
    return undefined;
  };
  return (model) => {
    const key = (id: string) => `${model}:${id}`;
    return {
      async upsert(id, payload, expiresIn) {
        rows.set(key(id), payload, expiresIn ? expiresIn * 1000 : undefined);
      },
      find: async (id) => rows.get(key(id)),
      findByUid: async (uid) => first(model, (payload) => payload.uid === uid),
      findByUserCode: async (userCode) => first(model, (payload) => payload.userCode === userCode),
      async consume(id) {
        const payload = rows.get(key(id));
        if (payload) payload.consumed = Math.floor(now() / 1000);
      },
      async destroy(id) {
        rows.delete(key(id));
      },
      async revokeByGrantId(grantId) {
        for (const [stored, payload] of rows.live()) if (payload.grantId === grantId) rows.delete(stored);
      },
    };
  };
}
