/**
 * The common-password blocklist (PASSWORD_BLOCKLIST_FILE). Rules: read once at start-up, and a missing
 * or empty file stops start-up (a policy without its blocklist would silently accept "Password1");
 * entries are NFKC-normalised and lower-cased like the candidates they are compared with.
 */
import fs from 'node:fs';
import type { CommonPasswordCheck } from '../policies/password-rules.js';

export class BlocklistError extends Error {}

export function loadBlocklist(file: string): CommonPasswordCheck {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new BlocklistError(`PASSWORD_BLOCKLIST_FILE ${file} cannot be read`, { cause: err });
  }
  const entries = new Set(
    text
      .split(/\r?\n/)
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => line.normalize('NFKC').toLowerCase()),
  );
  if (entries.size === 0) throw new BlocklistError(`PASSWORD_BLOCKLIST_FILE ${file} lists no passwords`);
  return (candidate) => entries.has(candidate);
}
