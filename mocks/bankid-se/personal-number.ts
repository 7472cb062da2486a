/**
 * Whether a value is a Swedish personal identity number as the RP API takes it: `YYYYMMDDNNNC`, twelve
 * digits (shared/reference/NATIONAL-IDS.md). Pure. Rules: the Luhn digit covers the ten digits after the
 * century; the date is on the calendar, the day possibly +60 (a samordningsnummer).
 */
function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    const doubled = Number(digits[digits.length - 1 - i]) * (i % 2 === 1 ? 2 : 1);
    sum += doubled > 9 ? doubled - 9 : doubled;
  }
  return sum % 10 === 0;
}

export function isSwedishPersonalNumber(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{12}$/.test(value) || !luhnValid(value.slice(2))) return false;
  const [year, month, written] = [Number(value.slice(0, 4)), Number(value.slice(4, 6)), Number(value.slice(6, 8))];
  const day = written > 60 ? written - 60 : written;
  const born = new Date(Date.UTC(year, month - 1, day));
  return born.getUTCMonth() === month - 1 && born.getUTCDate() === day;
}
