/**
 * National identity numbers: the reference's examples, every way a number can be wrong, and round trips
 * through the generators. Invalid-date cases are given correct check digits by an independent copy of
 * the reference formulas below, so that the date is the only thing at fault.
 */
import {
  isValidNorwegianId,
  makeNorwegianTestId,
  makeSwedishTestPersonalNumber,
  parseNorwegianId,
  parseSwedishPersonalNumber,
} from '../../src/policies/national-id.js';

const K1_WEIGHTS = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const K2_WEIGHTS = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
const weighted = (digits: string, weights: number[]): number =>
  weights.reduce((sum, w, i) => sum + w * Number(digits[i]), 0);
/** `11 − (sum mod 11)`, 11 → 0; 10 is returned as is (invalid). */
const classic = (digits: string, weights: number[]): number => {
  const result = 11 - (weighted(digits, weights) % 11);
  return result === 11 ? 0 : result;
};
/** The nine-digit body with the given k1 (default: the classic one) and the k2 that goes with it. */
const withChecks = (body: string, k1 = classic(body, K1_WEIGHTS)): string => `${body}${k1}${classic(`${body}${k1}`, K2_WEIGHTS)}`;
/** The first nine-digit body from `ddmmyy` and an individual number ≥ start whose classic checks exist. */
const firstValid = (ddmmyy: string, start = 0): string => {
  for (let i = start; i < 1000; i++) {
    const number = withChecks(`${ddmmyy}${String(i).padStart(3, '0')}`);
    if (number.length === 11) return number;
  }
  throw new Error(`no valid individual number for ${ddmmyy}`);
};

describe('Norwegian identity numbers', () => {
  test('the reference example is a Tenor D-number for 7 October 1967', () => {
    expect(parseNorwegianId('47906701517')).toEqual({
      number: '47906701517',
      kind: 'd-number',
      synthetic: 'tenor',
      birthdate: '1967-10-07',
    });
    expect(isValidNorwegianId('47906701517')).toBe(true);
  });

  test.each([
    ['01018500120', 'fodselsnummer', null, '1985-01-01'],
    ['07106701053', 'fodselsnummer', null, '1967-10-07'],
    ['31129990077', 'fodselsnummer', null, '1999-12-31'],
    ['29020450051', 'fodselsnummer', null, '2004-02-29'],
    ['15068050046', 'fodselsnummer', null, '1880-06-15'],
    ['41018500033', 'd-number', null, '1985-01-01'],
    ['01818500005', 'fodselsnummer', 'tenor', '1985-01-01'],
    ['17871660050', 'fodselsnummer', 'tenor', '2016-07-17'],
    ['57871660044', 'd-number', 'tenor', '2016-07-17'],
  ])('%s is a valid %s (synthetic: %s) born %s', (number, kind, synthetic, birthdate) => {
    expect(number).toBe(withChecks(number.slice(0, 9)));
    expect(parseNorwegianId(number)).toEqual({ number, kind, synthetic, birthdate });
  });

  test('month + 40 is a Dolly/H-number', () => {
    const number = firstValid('014185');
    expect(parseNorwegianId(number)).toMatchObject({ kind: 'fodselsnummer', synthetic: 'dolly', birthdate: '1985-01-01' });
    expect(parseNorwegianId(firstValid('415185'))).toMatchObject({ kind: 'd-number', synthetic: 'dolly', birthdate: '1985-11-01' });
  });

  test.each([
    ['individual 000–499 → 1900s', firstValid('150660', 0), '1960-06-15'],
    ['individual 000–499 → 1900s, year 00', firstValid('150600', 100), '1900-06-15'],
    ['individual 500–749, year 54–99 → 1800s', firstValid('150660', 600), '1860-06-15'],
    ['individual 500–749, year 00–39 → 2000s', firstValid('150620', 600), '2020-06-15'],
    ['individual 750–899, year 00–39 → 2000s', firstValid('150639', 800), '2039-06-15'],
    ['individual 900–999, year 40–99 → 1900s', firstValid('150645', 900), '1945-06-15'],
    ['individual 900–999, year 00–39 → 2000s', firstValid('150605', 900), '2005-06-15'],
  ])('century: %s', (_rule, number, birthdate) => {
    expect(parseNorwegianId(number)?.birthdate).toBe(birthdate);
  });

  test.each([
    ['individual 500–749 with year 40–53', firstValid('150645', 600)],
    ['individual 750–899 with year 40–99', firstValid('150645', 800)],
  ])('no century fits: %s', (_rule, number) => {
    expect(number.length).toBe(11);
    expect(parseNorwegianId(number)).toBeUndefined();
  });

  test('k1 under the 2032 rule: any of {11,12,13,14} − (sum mod 11); k2 keeps its single value', () => {
    // Skatteetaten's own examples (Foedselsnummer2032): remainders 0, 1 and 0, 2.
    for (const number of ['02013299997', '02013299903', '30108299920', '30108299939']) {
      expect(isValidNorwegianId(number)).toBe(true);
    }
    // 479067015: sum mod 11 = 10, so k1 ∈ {1, 2, 3, 4}; every other k1 fails even with a matching k2.
    const accepted = [...'0123456789'].filter((k1) => isValidNorwegianId(withChecks('479067015', Number(k1))));
    expect(accepted).toEqual(['1', '2', '3', '4']);
  });

  test('a body whose classic k1 would be 10 is invalid under the classic rule', () => {
    // 010185008: sum mod 11 = 1, so classic k1 = 10; the 2032 rule still allows 0, 1 and 2.
    expect(classic('010185008', K1_WEIGHTS)).toBe(10);
    expect(makeNorwegianTestId('1985-01-01', 8)).toBeUndefined();
    const accepted = [...'0123456789'].filter((k1) => isValidNorwegianId(withChecks('010185008', Number(k1))));
    expect(accepted).toEqual(['0', '1', '2']);
  });

  test('a number whose k2 would be 10 is invalid whatever its last digit', () => {
    expect(classic('0101850004', K2_WEIGHTS)).toBe(10);
    for (const k2 of '0123456789') expect(isValidNorwegianId(`0101850004${k2}`)).toBe(false);
    expect(makeNorwegianTestId('1985-01-01', 0)).toBeUndefined();
  });

  test('a wrong k2 is rejected', () => {
    for (const k2 of '012345689') expect(isValidNorwegianId(`4790670151${k2}`)).toBe(false);
  });

  test('every single-digit change of a valid number is caught, 2032 rule or not', () => {
    for (const number of ['47906701517', '01018500120', '30108299939', '57871660044']) {
      for (let position = 0; position < 11; position++) {
        for (const digit of '0123456789') {
          if (digit === number[position]) continue;
          const changed = `${number.slice(0, position)}${digit}${number.slice(position + 1)}`;
          expect([changed, isValidNorwegianId(changed)]).toEqual([changed, false]);
        }
      }
    }
  });

  test.each([
    ['empty', ''],
    ['10 digits', '4790670151'],
    ['12 digits', '479067015170'],
    ['a letter', '4790670151a'],
    ['a space', ' 47906701517'],
    ['a separator', '479067 01517'],
    ['full-width digits', '４７９０６７０１５１７'],
  ])('wrong form: %s', (_case, input) => {
    expect(parseNorwegianId(input)).toBeUndefined();
  });

  test.each([
    ['31 February', '310285'],
    ['29 February in a common year', '290285'],
    ['29 February 1900 (not a leap year)', '290200'],
    ['31 April', '310485'],
    ['month 13', '011385'],
    ['Tenor month 13 (93)', '019385'],
    ['Dolly month 13 (53)', '015385'],
    ['month 40 (neither plain nor Dolly)', '014085'],
    ['month 00', '010085'],
    ['day 00', '000185'],
    ['D-number day 32 (72)', '720185'],
    ['first digit 8 (day 41 after the D-number offset)', '810185'],
  ])('impossible date: %s', (_case, ddmmyy) => {
    expect(parseNorwegianId(firstValid(ddmmyy))).toBeUndefined();
  });

  test('29 February in leap years, 2000 included', () => {
    expect(parseNorwegianId(firstValid('290200', 500))?.birthdate).toBe('2000-02-29');
    expect(parseNorwegianId(firstValid('290204', 0))?.birthdate).toBe('1904-02-29');
  });

  test('round trip: generated numbers parse back to what they were made from', () => {
    const variants = [{}, { dNumber: true }, { tenor: true }, { dNumber: true, tenor: true }];
    let made = 0;
    for (let year = 1854; year <= 2039; year += 7) {
      for (const [month, day] of [[1, 1], [2, 28], [6, 15], [10, 31], [12, 31]] as const) {
        const birthdate = `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
        for (let individual = 0; individual < 1000; individual += 37) {
          for (const options of variants) {
            const number = makeNorwegianTestId(birthdate, individual, options);
            if (number === undefined) continue;
            made++;
            expect(number).toBe(withChecks(number.slice(0, 9)));
            expect(parseNorwegianId(number)).toEqual({
              number,
              kind: options.dNumber ? 'd-number' : 'fodselsnummer',
              synthetic: options.tenor ? 'tenor' : null,
              birthdate,
            });
          }
        }
      }
    }
    expect(made).toBeGreaterThan(1000);
  });

  test('the generator refuses an individual number from another century', () => {
    expect(makeNorwegianTestId('1967-10-07', 600)).toBeUndefined(); // 600 with year 67 means 1867
    expect(makeNorwegianTestId('2010-05-05', 100)).toBeUndefined(); // 100 with year 10 means 1910
  });

  test.each([
    ['1985-02-30', 0],
    ['85-01-01', 0],
    ['1853-12-31', 600],
    ['2040-01-01', 600],
    ['1985-01-01', 1000],
    ['1985-01-01', -1],
    ['1985-01-01', 1.5],
  ])('the generator throws on a bad argument: %s, %s', (birthdate, individual) => {
    expect(() => makeNorwegianTestId(birthdate, individual, {})).toThrow(RangeError);
  });
});

describe('Swedish personal identity numbers', () => {
  const now = new Date('2025-06-01T12:00:00Z');

  test('the reference examples', () => {
    expect(parseSwedishPersonalNumber('195006262546')).toEqual({
      number: '195006262546',
      kind: 'personnummer',
      birthdate: '1950-06-26',
    });
    expect(parseSwedishPersonalNumber('197010632391')).toEqual({
      number: '197010632391',
      kind: 'samordningsnummer',
      birthdate: '1970-10-03',
    });
  });

  test.each([
    ['19500626-2546', '195006262546', '1950-06-26'],
    ['500626-2546', '195006262546', '1950-06-26'],
    ['701063-2391', '197010632391', '1970-10-03'],
    ['500626+2546', '185006262546', '1850-06-26'],
  ])('%s is normalised to %s', (input, number, birthdate) => {
    expect(parseSwedishPersonalNumber(input, now)).toMatchObject({ number, birthdate });
  });

  test('the 10-digit form reads its century relative to now', () => {
    const born2025 = makeSwedishTestPersonalNumber('2025-01-01', 123).slice(2);
    const short = `${born2025.slice(0, 6)}-${born2025.slice(6)}`;
    expect(parseSwedishPersonalNumber(short, now)?.birthdate).toBe('2025-01-01');
    expect(parseSwedishPersonalNumber(short, new Date('2024-06-01T00:00:00Z'))?.birthdate).toBe('1925-01-01');
  });

  test('`+` from the year someone turns 100; `-` with a date still to come is invalid', () => {
    const digits = makeSwedishTestPersonalNumber('1925-12-01', 456).slice(2); // turns 100 in December 2025
    expect(parseSwedishPersonalNumber(`${digits.slice(0, 6)}+${digits.slice(6)}`, now)?.birthdate).toBe('1925-12-01');
    expect(parseSwedishPersonalNumber(`${digits.slice(0, 6)}-${digits.slice(6)}`, now)).toBeUndefined();
  });

  test('a wrong Luhn digit is rejected', () => {
    for (const c of '012345789') {
      expect(parseSwedishPersonalNumber(`19500626254${c}`)).toBeUndefined();
      expect(parseSwedishPersonalNumber(`500626-254${c}`, now)).toBeUndefined();
    }
  });

  test.each([
    ['31 February', '19500231'],
    ['29 February 1900', '19000229'],
    ['month 13', '19501301'],
    ['month 00', '19500001'],
    ['day 00', '19501200'],
    ['samordning day 32 (92)', '19501292'],
    ['samordning day 0 (60)', '19501260'],
  ])('impossible date: %s', (_case, yyyymmdd) => {
    // Luhn knows nothing of calendars, so each of these has a check digit that passes it.
    const number = [...'0123456789'].map((c) => `${yyyymmdd}254${c}`).find(luhnOk);
    expect(number).toBeDefined();
    expect(parseSwedishPersonalNumber(number ?? '')).toBeUndefined();
  });

  test('29 February 2000 is a real date', () => {
    expect(parseSwedishPersonalNumber(makeSwedishTestPersonalNumber('2000-02-29', 1))?.birthdate).toBe('2000-02-29');
  });

  test.each([
    ['11 digits', '19500626254'],
    ['13 digits', '1950062625460'],
    ['12 digits with +', '19500626+2546'],
    ['10 digits without a separator', '5006262546'],
    ['a date with dashes', '1950-06-26-2546'],
    ['a letter', '19500626254X'],
    ['a space', '500626 2546'],
  ])('wrong form: %s', (_case, input) => {
    expect(parseSwedishPersonalNumber(input, now)).toBeUndefined();
  });

  test('round trip: generated numbers parse back, in the long and the short form', () => {
    for (let year = 1930; year <= 2024; year += 3) {
      for (const [month, day] of [[1, 1], [2, 28], [7, 31], [12, 31]] as const) {
        const birthdate = `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
        for (let serial = 0; serial < 1000; serial += 111) {
          for (const samordning of [false, true]) {
            const number = makeSwedishTestPersonalNumber(birthdate, serial, { samordning });
            const kind = samordning ? 'samordningsnummer' : 'personnummer';
            expect(parseSwedishPersonalNumber(number)).toEqual({ number, kind, birthdate });
            const short = `${number.slice(2, 8)}-${number.slice(8)}`;
            expect(parseSwedishPersonalNumber(short, now)).toEqual({ number, kind, birthdate });
          }
        }
      }
    }
  });

  test('the generator throws on a bad argument', () => {
    expect(() => makeSwedishTestPersonalNumber('1950-02-30', 1)).toThrow(RangeError);
    expect(() => makeSwedishTestPersonalNumber('1950-06-26', 1000)).toThrow(RangeError);
  });
});

/** Luhn over YYMMDDNNN of a 12-digit number, written out from the reference. */
function luhnOk(twelve: string): boolean {
  const nine = twelve.slice(2, 11);
  const sum = [...nine].reduce((acc, d, i) => {
    const p = Number(d) * (i % 2 === 0 ? 2 : 1);
    return acc + Math.floor(p / 10) + (p % 10);
  }, 0);
  return (10 - (sum % 10)) % 10 === Number(twelve[11]);
}

describe('D-numbers from the newer ranges (Skatteetaten 2021)', () => {
  test('a valid D-number whose individual number does not tell the century is accepted without a birth date', () => {
    // born 15.06.(19)85, individual 800: not a 1900s range under the old table, issued since 2021.
    let found: string | undefined;
    for (let k = 0; k < 1000 && !found; k += 1) {
      const body = `550685${String(800 + (k % 100)).padStart(3, '0')}`;
      for (let k1 = 0; k1 <= 9 && !found; k1 += 1) {
        for (let k2 = 0; k2 <= 9 && !found; k2 += 1) {
          const candidate = `${body}${k1}${k2}`;
          const parsed = parseNorwegianId(candidate);
          if (parsed && parsed.birthdate === undefined) found = candidate;
        }
      }
    }
    expect(found).toBeDefined();
    expect(parseNorwegianId(found!)).toMatchObject({ kind: 'd-number', number: found });
    // a fødselsnummer with such an individual number is still refused
    expect(parseNorwegianId(`15068580000`)).toBeUndefined();
  });
});
