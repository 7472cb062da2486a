/**
 * The test people of the simulated BankID app. Rules: every personal number is 12 digits and passes
 * the Luhn check (personal-number.ts; the mock test checks them against the product's rules too); one is a samordningsnummer (day + 60);
 * names carry Swedish letters, so a broker's UTF-8 handling is exercised.
 */
export interface TestPerson {
  personalNumber: string;
  givenName: string;
  surname: string;
  /** The date this person's BankID was issued (YYYY-MM-DD), as completionData reports it. */
  bankIdIssueDate: string;
  /** What makes this person useful to a test, in English and Swedish. */
  kind: { en: string; sv: string };
}

export const TEST_PERSONS: readonly TestPerson[] = [
  { personalNumber: '198507099821', givenName: 'Astrid', surname: 'Lindqvist', bankIdIssueDate: '2023-04-17', kind: { en: 'ordinary personnummer, born 1985', sv: 'vanligt personnummer, född 1985' } },
  { personalNumber: '195006262546', givenName: 'Johan', surname: 'Eriksson', bankIdIssueDate: '2021-11-02', kind: { en: "Sweden Connect's example number, born 1950", sv: 'Sweden Connects exempelnummer, född 1950' } },
  { personalNumber: '197010632391', givenName: 'Fatima', surname: 'Hassan', bankIdIssueDate: '2024-02-29', kind: { en: 'samordningsnummer (day + 60), born 1970', sv: 'samordningsnummer (dag + 60), född 1970' } },
  { personalNumber: '201203149867', givenName: 'Elsa', surname: 'Nyström', bankIdIssueDate: '2025-08-20', kind: { en: 'a minor, born 2012', sv: 'minderårig, född 2012' } },
  { personalNumber: '192511309813', givenName: 'Gustav', surname: 'Öberg', bankIdIssueDate: '2019-06-05', kind: { en: 'over 100 (a + in the 10-digit form), born 1925', sv: 'över 100 (+ i den 10-siffriga formen), född 1925' } },
  { personalNumber: '199202299807', givenName: 'Lars-Åke', surname: 'Svensson', bankIdIssueDate: '2022-09-30', kind: { en: 'born on a leap day, 1992', sv: 'född på skottdagen, 1992' } },
];

export function personByNumber(personalNumber: string): TestPerson | undefined {
  return TEST_PERSONS.find((p) => p.personalNumber === personalNumber);
}

export function fullName(person: TestPerson): string {
  return `${person.givenName} ${person.surname}`;
}

/**
 * A person for a number that is not on the list (a relying party's requirement may name any valid
 * number): a placeholder name, so the order can still be completed.
 */
export function personFor(personalNumber: string): TestPerson {
  return (
    personByNumber(personalNumber) ?? {
      personalNumber,
      givenName: 'Testperson',
      surname: personalNumber.slice(-4),
      bankIdIssueDate: '2024-01-15',
      kind: { en: 'the number the order requires', sv: 'numret ordern kräver' },
    }
  );
}
