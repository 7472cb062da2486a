/**
 * Norwegian and Swedish national identity numbers (facts: shared/reference/NATIONAL-IDS.md). Pure. Rules:
 * - Norway: exactly 11 digits; both mod-11 check digits are computed on the digits as written, offsets
 *   included; a result of 11 is 0 and a result of 10 makes the number invalid;
 * - k1 is also accepted under the rule in force from 1 January 2032 (`{11,12,13,14} − (sum mod 11)`, that
 *   is: the weighted sum including k1 leaves a remainder of 0–3), because numbers issued from then on may
 *   carry any birth date and we must read both kinds side by side; k2 keeps its single value;
 * - a first digit ≥ 4 is a D-number (day + 40); month + 80 is a Tenor synthetic number, month + 40 a
 *   Dolly/H-number one; both offsets may combine (`47906701517`: D-number, Tenor, 7 October 1967);
 * - the century comes from the individual number, the two-digit year choosing between overlapping
 *   ranges; a combination that no range allows is invalid, and so is a date that is not on the calendar;
 * - Sweden: `YYYYMMDDNNNC`, `YYYYMMDD-NNNC`, `YYMMDD-NNNC` or `YYMMDD+NNNC`, always returned as 12 digits;
 *   the Luhn digit covers the nine digits `YYMMDDNNN`; day + 60 is a samordningsnummer;
 * - in the 10-digit form `+` marks someone who turns 100 or more this year, so the century is read
 *   relative to `now`; a `-` date that has not happened yet is invalid rather than a century earlier.
 * No whitespace is tolerated: callers trim what a person typed.
 */

export interface NorwegianId {
  number: string;
  kind: 'fodselsnummer' | 'd-number';
  synthetic: 'tenor' | 'dolly' | null;
  /** YYYY-MM-DD, offsets removed; absent for D-numbers from the newer ranges, whose individual number
   * no longer tells the century. */
  birthdate?: string;
}

export interface SwedishId {
  /** 12 digits, no separator: the form BankID and Sweden Connect use. */
  number: string;
  kind: 'personnummer' | 'samordningsnummer';
  /** YYYY-MM-DD, the samordningsnummer offset removed. */
  birthdate: string;
}

const K1_WEIGHTS = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const K2_WEIGHTS = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
const D_NUMBER_DAY_OFFSET = 40;
const TENOR_MONTH_OFFSET = 80;
const DOLLY_MONTH_OFFSET = 40;
const SAMORDNING_DAY_OFFSET = 60;

function digitsOf(text: string): number[] {
  return [...text].map(Number);
}

function weightedSum(digits: readonly number[], weights: readonly number[]): number {
  return weights.reduce((sum, weight, i) => sum + weight * (digits[i] ?? 0), 0);
}

/** The single check digit of the classic rule; undefined stands for the forbidden result 10. */
function mod11CheckDigit(digits: readonly number[], weights: readonly number[]): number | undefined {
  const result = 11 - (weightedSum(digits, weights) % 11);
  if (result === 10) return undefined;
  return result === 11 ? 0 : result;
}

/**
 * Both k1 rules in one test: `k1 = c − (sum mod 11)` for c = 11 (today) or c ∈ {11…14} (from 2032) means
 * `(sum + k1) mod 11 ∈ {0…3}`. Accepting the wider set costs nothing in error detection that matters:
 * k2 still catches every single-digit mistake, because its weights are non-zero mod 11.
 */
function k1Accepted(digits: readonly number[], k1: number): boolean {
  return (weightedSum(digits, K1_WEIGHTS) + k1) % 11 <= 3;
}

/** Birth-year centuries by individual number; the two-digit year picks between overlapping ranges. */
function norwegianCentury(individual: number, yy: number): number | undefined {
  if (individual <= 499) return 1900;
  if (individual >= 900 && yy >= 40) return 1900;
  if (individual >= 500 && yy <= 39) return 2000;
  if (individual <= 749 && yy >= 54) return 1800;
  return undefined;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function isCalendarDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const lengths = [31, isLeapYear(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return day <= (lengths[month - 1] ?? 0);
}

const pad = (value: number, width: number): string => String(value).padStart(width, '0');

function isoDate(year: number, month: number, day: number): string {
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
}

/** Reads a YYYY-MM-DD argument of the generators; a bad one is a programming error, hence the throw. */
function readIsoDate(birthdate: string): { year: number; month: number; day: number } {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(birthdate);
  const [year, month, day] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [0, 0, 0];
  if (!match || !isCalendarDate(year, month, day)) {
    throw new RangeError(`not a calendar date in YYYY-MM-DD form: ${birthdate}`);
  }
  return { year, month, day };
}

function requireSerial(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 999) {
    throw new RangeError(`${name} must be an integer from 0 to 999, got ${value}`);
  }
}

export function parseNorwegianId(input: string): NorwegianId | undefined {
  if (!/^\d{11}$/.test(input)) return undefined;
  const digits = digitsOf(input);
  const [k1, k2] = [digits[9] ?? -1, digits[10] ?? -1];
  if (!k1Accepted(digits, k1) || mod11CheckDigit(digits, K2_WEIGHTS) !== k2) return undefined;

  const writtenDay = Number(input.slice(0, 2));
  const writtenMonth = Number(input.slice(2, 4));
  const yy = Number(input.slice(4, 6));
  const individual = Number(input.slice(6, 9));

  const kind = (digits[0] ?? 0) >= 4 ? 'd-number' : 'fodselsnummer';
  const day = kind === 'd-number' ? writtenDay - D_NUMBER_DAY_OFFSET : writtenDay;
  let synthetic: NorwegianId['synthetic'] = null;
  let month = writtenMonth;
  if (writtenMonth > TENOR_MONTH_OFFSET) {
    synthetic = 'tenor';
    month -= TENOR_MONTH_OFFSET;
  } else if (writtenMonth > DOLLY_MONTH_OFFSET) {
    synthetic = 'dolly';
    month -= DOLLY_MONTH_OFFSET;
  }

  const century = norwegianCentury(individual, yy);
  if (century === undefined) {
    // Since 2021 D-numbers come from individual-number ranges that no longer encode the century
    // (Skatteetaten, "Utvidelse av D-nummerserien"): valid, but the birth year is unknown.
    const someYear = isLeapYear(2000 + yy) ? 2000 + yy : 1900 + yy;
    if (kind === 'd-number' && isCalendarDate(someYear, month, day)) return { number: input, kind, synthetic };
    return undefined;
  }
  const year = century + yy;
  if (!isCalendarDate(year, month, day)) return undefined;
  return { number: input, kind, synthetic, birthdate: isoDate(year, month, day) };
}

export function isValidNorwegianId(input: string): boolean {
  return parseNorwegianId(input) !== undefined;
}

/**
 * Builds a Norwegian number under the classic check-digit rule (valid before and after 2032). Returns
 * undefined when this individual number cannot be used for the date — a check digit would be 10, or the
 * individual number does not encode the birth year's century — so callers try the next one.
 * Without `tenor` the result is indistinguishable from a real person's number: prefer Tenor numbers
 * for anything that leaves a test.
 */
export function makeNorwegianTestId(
  birthdate: string,
  individual: number,
  options: { dNumber?: boolean; tenor?: boolean } = {},
): string | undefined {
  const { year, month, day } = readIsoDate(birthdate);
  requireSerial(individual, 'individual');
  if (year < 1854 || year > 2039) throw new RangeError(`no Norwegian individual number encodes the year ${year}`);
  const yy = year % 100;
  if (norwegianCentury(individual, yy) !== year - yy) return undefined;

  const writtenDay = day + (options.dNumber ? D_NUMBER_DAY_OFFSET : 0);
  const writtenMonth = month + (options.tenor ? TENOR_MONTH_OFFSET : 0);
  const body = `${pad(writtenDay, 2)}${pad(writtenMonth, 2)}${pad(yy, 2)}${pad(individual, 3)}`;
  const k1 = mod11CheckDigit(digitsOf(body), K1_WEIGHTS);
  if (k1 === undefined) return undefined;
  const k2 = mod11CheckDigit(digitsOf(`${body}${k1}`), K2_WEIGHTS);
  if (k2 === undefined) return undefined;
  return `${body}${k1}${k2}`;
}

/** Luhn over `YYMMDDNNN`: weights 2, 1, 2, … from the left; a product above 9 adds its digits. */
function luhnCheckDigit(nineDigits: string): number {
  const sum = digitsOf(nineDigits).reduce((acc, digit, i) => {
    const product = digit * (i % 2 === 0 ? 2 : 1);
    return acc + (product > 9 ? product - 9 : product);
  }, 0);
  return (10 - (sum % 10)) % 10;
}

/** The full year of a 10-digit number: `-` within the last 99 years (by year), `+` a century before that. */
function fullYearOfShortForm(yy: number, separator: string, now: Date): number {
  const thisYear = now.getUTCFullYear();
  const recent = thisYear - ((((thisYear - yy) % 100) + 100) % 100);
  return separator === '+' ? recent - 100 : recent;
}

export function parseSwedishPersonalNumber(input: string, now: Date = new Date()): SwedishId | undefined {
  let year: number;
  let rest: string; // MMDDNNNC
  const long = /^(\d{4})(\d{4})-?(\d{4})$/.exec(input);
  const short = long ? null : /^(\d{2})(\d{4})([-+])(\d{4})$/.exec(input);
  if (long) {
    year = Number(long[1]);
    rest = `${long[2]}${long[3]}`;
  } else if (short) {
    year = fullYearOfShortForm(Number(short[1]), short[3] ?? '-', now);
    rest = `${short[2]}${short[4]}`;
  } else {
    return undefined;
  }

  const yymmddnnn = `${pad(year % 100, 2)}${rest.slice(0, 7)}`;
  if (luhnCheckDigit(yymmddnnn) !== Number(rest.slice(7))) return undefined;

  const month = Number(rest.slice(0, 2));
  const writtenDay = Number(rest.slice(2, 4));
  const kind = writtenDay > SAMORDNING_DAY_OFFSET ? 'samordningsnummer' : 'personnummer';
  const day = kind === 'samordningsnummer' ? writtenDay - SAMORDNING_DAY_OFFSET : writtenDay;
  if (!isCalendarDate(year, month, day)) return undefined;

  const birthdate = isoDate(year, month, day);
  const today = isoDate(now.getUTCFullYear(), now.getUTCMonth() + 1, now.getUTCDate());
  if (short && birthdate > today) return undefined;
  return { number: `${pad(year, 4)}${rest}`, kind, birthdate };
}

/** Builds a Luhn-valid 12-digit Swedish number; `serial` is the three digits NNN before the check digit. */
export function makeSwedishTestPersonalNumber(
  birthdate: string,
  serial: number,
  options: { samordning?: boolean } = {},
): string {
  const { year, month, day } = readIsoDate(birthdate);
  requireSerial(serial, 'serial');
  const writtenDay = day + (options.samordning ? SAMORDNING_DAY_OFFSET : 0);
  const mmddnnn = `${pad(month, 2)}${pad(writtenDay, 2)}${pad(serial, 3)}`;
  const check = luhnCheckDigit(`${pad(year % 100, 2)}${mmddnnn}`);
  return `${pad(year, 4)}${mmddnnn}${check}`;
}
