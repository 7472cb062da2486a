/**
 * Whether a pid can be a Norwegian fødselsnummer or D-number, as the mock's tester page and account ids
 * need to know (shared/reference/NATIONAL-IDS.md). Pure. Rules: 11 digits; both classic mod-11 check
 * digits (a remainder giving 10 has no digit, so no number); a day and month on the calendar once the
 * D-number's day offset (+40) and the synthetic numbers' month offsets (Tenor +80, Dolly +40) are taken
 * off. The century is not read: the tester may type any plausible number, and the broker checks it fully.
 */
const K1 = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const K2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const checkDigit = (digits: number[], weights: number[]) => (11 - (weights.reduce((sum, w, i) => sum + w * digits[i]!, 0) % 11)) % 11;

export function isNorwegianId(pid: string): boolean {
  if (!/^\d{11}$/.test(pid)) return false;
  const digits = [...pid].map(Number);
  if (checkDigit(digits, K1) !== digits[9] || checkDigit(digits, K2) !== digits[10]) return false;
  const written = { day: Number(pid.slice(0, 2)), month: Number(pid.slice(2, 4)) };
  const day = written.day > 40 ? written.day - 40 : written.day;
  const month = written.month > 80 ? written.month - 80 : written.month > 40 ? written.month - 40 : written.month;
  return month >= 1 && month <= 12 && day >= 1 && day <= DAYS_IN_MONTH[month - 1]!;
}
