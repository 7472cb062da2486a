/**
 * The BankID mock's own secrets, generated once and kept in the store (one JSON value), so every
 * instance on the database agrees: the CSRF secret of the simulated app's forms, and the key the mock
 * "signs" completed orders with.
 */
import crypto from 'node:crypto';
import type { Clock } from '../../../clock.js';
import type { Database } from '../../../store/db.js';
import { getOrCreateSecret } from '../../../store/secrets.js';

export const MOCK_SECRET_NAME = 'MOCK_BANKID_SECRETS';

export interface BankidMockSecrets {
  csrfSecret: string;
  signingKey: string;
}

function generate(): string {
  const random = () => crypto.randomBytes(32).toString('base64url');
  return JSON.stringify({ csrfSecret: random(), signingKey: random() } satisfies BankidMockSecrets);
}

export async function loadBankidMockSecrets(db: Database, clock: Clock): Promise<BankidMockSecrets> {
  const stored = JSON.parse(await getOrCreateSecret(db, clock, MOCK_SECRET_NAME, generate)) as Partial<BankidMockSecrets>;
  if (!stored.csrfSecret || !stored.signingKey) {
    throw new Error(`the stored ${MOCK_SECRET_NAME} is incomplete; delete it to have it generated again`);
  }
  return { csrfSecret: stored.csrfSecret, signingKey: stored.signingKey };
}
