/** The strings of the ID-porten mock's own pages, in English with a Norwegian subtitle (mocks/shared/messages.ts). */
import type { Bilingual } from '../shared/messages.js';

export type Norwegian = Bilingual<'nb'>;

export const MOCK_MESSAGES = {
  title: { en: 'ID-porten (test mock)', nb: 'ID-porten (testmock)' },
  skipLink: { en: 'Skip to the content', nb: 'Gå til innholdet' },
  loginHeading: { en: 'Log in to {client}', nb: 'Logg inn på {client}' },
  warning: {
    en: 'This is a mock of ID-porten for testing. Nobody is really authenticated here.',
    nb: 'Dette er en etterligning av ID-porten for testing. Ingen blir virkelig autentisert her.',
  },
  requested: { en: 'The service asks for at least this level', nb: 'Tjenesten krever minst dette nivået' },
  personLegend: { en: 'Who logs in', nb: 'Hvem logger inn' },
  pidLabel: {
    en: 'Or type any fødselsnummer or D-number (11 digits; overrides the choice above)',
    nb: 'Eller skriv inn et fødselsnummer eller D-nummer (11 siffer; overstyrer valget over)',
  },
  eidLegend: { en: 'Electronic ID', nb: 'Elektronisk ID' },
  minidHidden: {
    en: 'MinID is not offered: the service requires level high, and MinID is level substantial.',
    nb: 'MinID tilbys ikke: tjenesten krever høyt nivå, og MinID er på betydelig nivå.',
  },
  outcomeHeading: { en: 'Outcome', nb: 'Utfall' },
  login: { en: 'Log in', nb: 'Logg inn' },
  misbehave: { en: 'Misbehave as chosen below', nb: 'Feil oppførsel som valgt under' },
  misbehaviourLabel: { en: 'How to misbehave', nb: 'Hvilken feil oppførsel' },
  upstreamError: { en: 'Upstream error (server_error)', nb: 'Feil hos ID-porten (server_error)' },
  cancel: { en: 'Cancel (access_denied)', nb: 'Avbryt (access_denied)' },
  pidInvalid: {
    en: 'That is not a valid fødselsnummer or D-number (11 digits with valid check digits and birth date).',
    nb: 'Det er ikke et gyldig fødselsnummer eller D-nummer (11 siffer med gyldige kontrollsiffer og fødselsdato).',
  },
  eidUnavailable: { en: 'Choose one of the eIDs offered for this level.', nb: 'Velg en av de elektroniske ID-ene som tilbys for dette nivået.' },
  personMissing: { en: 'Choose a person or type a number.', nb: 'Velg en person eller skriv inn et nummer.' },
  errorTitle: { en: 'Something went wrong', nb: 'Noe gikk galt' },
  expired: {
    en: 'This login has expired or is unknown. Go back to the service and start again.',
    nb: 'Denne innloggingen er utløpt eller ukjent. Gå tilbake til tjenesten og start på nytt.',
  },
  csrf: { en: 'The form was out of date. Go back to the service and start again.', nb: 'Skjemaet var utdatert. Gå tilbake til tjenesten og start på nytt.' },
  badRequest: { en: 'The request could not be understood.', nb: 'Forespørselen kunne ikke forstås.' },
  serverError: { en: 'The ID-porten mock failed. See the service log.', nb: 'ID-porten-mocken feilet. Se tjenestens logg.' },
  oidcError: { en: 'The request to ID-porten was refused', nb: 'Forespørselen til ID-porten ble avvist' },
  logoutHeading: { en: 'Log out of ID-porten?', nb: 'Logge ut av ID-porten?' },
  logoutConfirm: { en: 'Log out', nb: 'Logg ut' },
  logoutStay: { en: 'Stay logged in', nb: 'Forbli innlogget' },
  loggedOut: { en: 'You are logged out of ID-porten.', nb: 'Du er logget ut av ID-porten.' },
} satisfies Record<string, Norwegian>;

export type MockMessageId = keyof typeof MOCK_MESSAGES;
