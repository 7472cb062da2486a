/**
 * The operator commands, as plain functions over the store so tests call them directly; src/cli/index.ts
 * parses arguments and prints. Rules: a password is read from standard input, never from an argument
 * (arguments reach shell history and `ps`). Client commands live in clients.ts (the database, not the file).
 */
import type { Clock } from '../clock.js';
import type { Database } from '../store/db.js';
import { createAccountRepository, isLegacyUsername, type Account } from '../store/accounts.js';
import { normalisePassword, type PasswordPolicy } from '../policies/password-rules.js';
import { hashPassword, MAX_PASSWORD_LENGTH } from '../passwords/hasher.js';
import { sweepExpired } from '../store/sweeper.js';

export class CliError extends Error {}

export async function createLocalAccount(
  db: Database,
  clock: Clock,
  input: { email: string; name: string; password: string; legacyUsername?: string | undefined },
  /** The configured password policy; the CLI passes it so operators are held to the same rules as users. */
  policy?: PasswordPolicy,
): Promise<Account> {
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(input.email.trim())) throw new CliError('--email must be an e-mail address');
  if (!input.name.trim()) throw new CliError('--name must not be empty');
  // Hashed in the form every login verifies (NFKC), like passwords set through registration.
  const password = normalisePassword(input.password);
  if (password.length < 8 || password.length > MAX_PASSWORD_LENGTH) {
    throw new CliError(`the password must be 8 to ${MAX_PASSWORD_LENGTH} characters`);
  }
  const broken = policy?.evaluate(password, { email: input.email }) ?? [];
  if (broken.length) throw new CliError(`the password breaks the ${policy!.preset} password rules: ${broken.join(', ')}`);
  const accounts = createAccountRepository(db, clock);
  const { legacyUsername } = input;
  if (legacyUsername !== undefined) {
    if (!isLegacyUsername(legacyUsername)) throw new CliError('--legacy-username must be six letters or digits');
    if (await accounts.findLocalCredentials(legacyUsername)) throw new CliError(`the username ${legacyUsername.toUpperCase()} belongs to another account`);
  }
  return accounts.createLocal({
    email: input.email,
    name: input.name.trim(),
    passwordHash: await hashPassword(password),
    emailVerified: true,
    ...(legacyUsername ? { legacyUsername } : {}),
  });
}

export { describeKeys, rotateKeys, purgeExpiredKeys, revokeKey, rewrapKeys } from './keys.js';
export { sweepExpired };
