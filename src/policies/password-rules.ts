/**
 * Password rules (DESIGN §5). Pure: the blocklist is handed in. Rules enforced here:
 * - a password is NFKC-normalised before any rule looks at it, and that normalised form is what gets
 *   hashed and verified (at registration, reset, login and in the CLI), so "ﬁ" and "fi" are one password;
 * - length counts Unicode code points, not UTF-16 units;
 * - `udi` (the default; the UDI FAQ's rules): 8–128 characters, an upper-case letter, a lower-case
 *   letter and a digit; no special characters (anything but letters and 0–9, spaces included), no
 *   æ ø å, no letters outside A–Z;
 * - `nist` (NIST SP 800-63B-4 §3.1.1.2): at least 15 characters (a password alone is single-factor),
 *   at most 64, any printable Unicode, no composition rules;
 * - both refuse a password on the common-password blocklist or equal to the user's e-mail address or
 *   its local part (compared case-insensitively), and both cap the length so argon2 cannot be abused;
 * - every rule has a stable id (its message is `password.rule.<id>`); evaluation names every broken
 *   rule, never only the first, so the page can say exactly what to change.
 */

export const PASSWORD_PRESETS = ['udi', 'nist'] as const;
export type PasswordPreset = (typeof PASSWORD_PRESETS)[number];

export type PasswordRuleId =
  | 'min_length'
  | 'max_length'
  | 'uppercase'
  | 'lowercase'
  | 'digit'
  | 'no_special'
  | 'no_norwegian_letters'
  | 'latin_only'
  | 'printable'
  | 'not_common';

export interface PasswordRule {
  id: PasswordRuleId;
  /** Values for the rule's message placeholders, e.g. { min: 8 }. */
  params: Record<string, number>;
}

export interface PasswordContext {
  /** The account's e-mail address: a password must not be the address or its local part. */
  email?: string | undefined;
}

export interface PasswordPolicy {
  preset: PasswordPreset;
  /** Every rule, in the order the page lists them. */
  rules: readonly PasswordRule[];
  /** The ids of the rules the (normalised) password breaks; empty when it is acceptable. */
  evaluate(normalisedPassword: string, context?: PasswordContext): PasswordRuleId[];
}

/** Looks up a lower-cased, normalised candidate in the common-password list. */
export type CommonPasswordCheck = (lowerCased: string) => boolean;

export function normalisePassword(password: string): string {
  return password.normalize('NFKC');
}

const UDI = { min: 8, max: 128 };
const NIST = { min: 15, max: 64 };

const codePoints = (s: string): number => [...s].length;
const NORWEGIAN = /[æøåÆØÅ]/u;
const ANY_LETTER = /\p{L}/u;
const ASCII_LETTER = /[A-Za-z]/;

type Check = (p: string, context: PasswordContext) => boolean;

function notCommon(isCommon: CommonPasswordCheck): Check {
  return (p, context) => {
    const lower = p.toLowerCase();
    if (isCommon(lower)) return false;
    const email = context.email?.toLowerCase();
    if (!email) return true;
    const local = email.split('@')[0] ?? '';
    return lower !== email && lower !== local;
  };
}

/** Each preset: its rules in display order, with the check that passes when the rule is kept. */
function presetChecks(preset: PasswordPreset, isCommon: CommonPasswordCheck): Array<[PasswordRule, Check]> {
  if (preset === 'udi') {
    return [
      [{ id: 'min_length', params: { min: UDI.min } }, (p) => codePoints(p) >= UDI.min],
      [{ id: 'uppercase', params: {} }, (p) => /[A-Z]/.test(p)],
      [{ id: 'lowercase', params: {} }, (p) => /[a-z]/.test(p)],
      [{ id: 'digit', params: {} }, (p) => /[0-9]/.test(p)],
      // Letters are judged by the two rules below; everything else that is not 0–9 is "special".
      [{ id: 'no_special', params: {} }, (p) => [...p].every((c) => ANY_LETTER.test(c) || /[0-9]/.test(c))],
      [{ id: 'no_norwegian_letters', params: {} }, (p) => !NORWEGIAN.test(p)],
      [{ id: 'latin_only', params: {} }, (p) => [...p].every((c) => !ANY_LETTER.test(c) || ASCII_LETTER.test(c) || NORWEGIAN.test(c))],
      [{ id: 'max_length', params: { max: UDI.max } }, (p) => codePoints(p) <= UDI.max],
      [{ id: 'not_common', params: {} }, notCommon(isCommon)],
    ];
  }
  return [
    [{ id: 'min_length', params: { min: NIST.min } }, (p) => codePoints(p) >= NIST.min],
    [{ id: 'max_length', params: { max: NIST.max } }, (p) => codePoints(p) <= NIST.max],
    // Control characters (C0, DEL, C1) and lone surrogates cannot be typed and would not survive forms.
    [{ id: 'printable', params: {} }, (p) => !/[\p{Cc}\p{Cs}]/u.test(p)],
    [{ id: 'not_common', params: {} }, notCommon(isCommon)],
  ];
}

export function createPasswordPolicy(preset: PasswordPreset, isCommon: CommonPasswordCheck): PasswordPolicy {
  const checks = presetChecks(preset, isCommon);
  return {
    preset,
    rules: checks.map(([rule]) => rule),
    evaluate(password, context = {}) {
      return checks.filter(([, keeps]) => !keeps(password, context)).map(([rule]) => rule.id);
    },
  };
}
