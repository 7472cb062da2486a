/**
 * The synthetic people of the ID-porten mock and the eIDs a tester can pick. Rules:
 * - every `pid` passes the fødselsnummer/D-number check (the mock test checks them against the
 *   product's rules too), and all but the first two are Tenor numbers (month + 80), which no real
 *   person holds;
 * - each eID carries the level it reaches and the `amr` ID-porten sends for it; MinID is the only
 *   eID at substantial, so a request for high never offers it.
 */
export interface SyntheticPerson {
  pid: string;
  name: string;
  /** What makes this person useful to a test, in English and Norwegian. */
  kind: { en: string; nb: string };
}

export const SYNTHETIC_PERSONS: readonly SyntheticPerson[] = [
  { pid: '14038541286', name: 'Kari Nordmann', kind: { en: 'ordinary fødselsnummer, born 1985', nb: 'vanlig fødselsnummer, født 1985' } },
  { pid: '63119027391', name: 'Ahmad Karimi', kind: { en: 'D-number (day + 40), born 1990', nb: 'D-nummer (dag + 40), født 1990' } },
  { pid: '02867913311', name: 'Ola Tenorsen', kind: { en: 'Tenor test fødselsnummer (month + 80), born 1979', nb: 'Tenor-testnummer (måned + 80), født 1979' } },
  { pid: '49889224206', name: 'Ingrid Testesen', kind: { en: 'Tenor test D-number, born 1992', nb: 'Tenor-test-D-nummer, født 1992' } },
  { pid: '47906701517', name: 'Nils Digdirsen', kind: { en: "Tenor test D-number from Digdir's documentation, born 1967", nb: 'Tenor-test-D-nummer fra Digdirs dokumentasjon, født 1967' } },
  { pid: '20851450255', name: 'Emma Lillevik', kind: { en: 'a child (Tenor), born 2014', nb: 'et barn (Tenor), født 2014' } },
  { pid: '17822120164', name: 'Olav Gamlestad', kind: { en: 'a very old person (Tenor), born 1921', nb: 'en svært gammel person (Tenor), født 1921' } },
];

export function personByPid(pid: string): SyntheticPerson | undefined {
  return SYNTHETIC_PERSONS.find((p) => p.pid === pid);
}

export type EidId = 'minid' | 'bankid' | 'bankid-mobil' | 'buypass' | 'commfides';

export interface Eid {
  id: EidId;
  label: string;
  level: 'substantial' | 'high';
  amr: readonly string[];
  /** Digdir: with the `profile` scope, Buypass and BankID add the person's name to the id_token. */
  releasesName: boolean;
}

export const EIDS: readonly Eid[] = [
  { id: 'minid', label: 'MinID', level: 'substantial', amr: ['Minid-OTC'], releasesName: false },
  { id: 'bankid', label: 'BankID', level: 'high', amr: ['BankID'], releasesName: true },
  { id: 'bankid-mobil', label: 'BankID på mobil', level: 'high', amr: ['BankID Mobil'], releasesName: true },
  { id: 'buypass', label: 'Buypass', level: 'high', amr: ['Buypass'], releasesName: true },
  { id: 'commfides', label: 'Commfides', level: 'high', amr: ['Commfides'], releasesName: false },
];

export const MINID = EIDS[0]!;

export function eidById(id: unknown): Eid | undefined {
  return EIDS.find((e) => e.id === id);
}

/** Whether the login's amr names an eID that releases the name with the `profile` scope. */
export function amrReleasesName(amr: readonly string[] | undefined): boolean {
  return EIDS.some((e) => e.releasesName && e.amr.some((a) => amr?.includes(a)));
}
