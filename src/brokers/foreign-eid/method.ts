/**
 * The foreign-eID option (DESIGN §4): a redirect method whose `begin` always ends in a refusal page ("a
 * national identity number is required; international eIDs cannot be used"), so a person who looks for
 * it learns why instead of finding nothing; giving up there sends `access_denied` to the client (the
 * page's cancel). Rules: always listed when a client offers it, whatever level is asked (it reaches
 * none); never goes upstream; needs no configuration.
 */
import { errorPages } from '../error-pages.js';
import type { MethodModule, RedirectMethod } from '../method.js';
import { BrokerError, type RedirectBroker } from '../types.js';

const FOREIGN_EID = 'foreign-eid';
const env = {};

const refusal = () => new BrokerError(FOREIGN_EID, 'refused', 'international eIDs cannot be used: a national identity number is required');

const broker: RedirectBroker = {
  id: FOREIGN_EID,
  capability: 'redirect',
  reachable: [],
  begin: () => Promise.reject(refusal()),
  complete: () => Promise.reject(refusal()),
};

const method: RedirectMethod = {
  id: FOREIGN_EID,
  kind: 'foreign-eid',
  capability: 'redirect',
  reachable: [],
  listedWhenUnreachable: true,
  displayName: { id: 'method.foreign-eid' },
  hint: () => ({ id: 'method.foreign-eid.hint' }),
  errors: errorPages(undefined, { refused: { view: 'foreign-eid.njk', status: 200, refusal: 'foreign_eid', auditReason: 'refused_by_design' } }),
  broker,
};

export const foreignEidMethod = {
  kind: 'foreign-eid',
  env,
  settings: () => ({}),
  ids: () => [FOREIGN_EID],
  open: async () => [method],
} satisfies MethodModule<typeof env, Record<string, never>>;
