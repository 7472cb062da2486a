/**
 * The e-mail account login (local accounts, src/interactions/local-accounts/) as a method: a password
 * method at rank `low` (DESIGN §3), offered to a client that names no login methods. Its pages and
 * strategies live with the interactions; this is only what the registry and the policies know of it.
 */
import { errorPages } from '../error-pages.js';
import type { MethodModule, PasswordMethod } from '../method.js';

const env = {};

const method: PasswordMethod = {
  id: 'local',
  kind: 'local',
  capability: 'password',
  reachable: ['low'],
  offeredByDefault: true,
  displayName: { id: 'login.local.heading' },
  hint: () => ({ id: 'local.login.identifier' }),
  errors: errorPages(undefined),
};

export const localMethod = {
  kind: 'local',
  env,
  settings: () => ({}),
  ids: () => [method.id],
  open: async () => [method],
} satisfies MethodModule<typeof env, Record<string, never>>;
