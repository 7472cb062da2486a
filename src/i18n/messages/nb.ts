/** Norwegian bokmål. Wording follows UDI and Digdir ("Logg inn", "e-postadresse", "Avbryt"). */
import type { MessageId } from './en.js';

export const nb: Record<MessageId, string> = {
  'app.name': 'Nordlys ID',
  'layout.skip_link': 'Gå til hovedinnholdet',
  'layout.footer': 'Sikker innlogging til digitale tjenester',

  'login.title': 'Logg inn',
  'login.intro': 'Logg inn for å fortsette til {client}.',
  'login.email': 'E-postadresse',
  'login.password': 'Passord',
  'login.submit': 'Logg inn',
  'login.cancel': 'Avbryt',
  'login.error.invalid_credentials': 'E-postadressen eller passordet er feil.',
  'login.error.missing_fields': 'Skriv inn både e-postadressen og passordet ditt.',

  'consent.title': 'Gi tilgang',
  'consent.intro': '{client} ber om tillatelse til å:',
  'consent.claims_heading': 'Opplysninger som blir delt',
  'consent.allow': 'Tillat',
  'consent.cancel': 'Avbryt',

  'scope.openid': 'Bekrefte hvem du er',
  'scope.email': 'Se e-postadressen din',
  'scope.profile': 'Se navnet ditt og grunnleggende profilopplysninger',
  'scope.offline_access': 'Beholde tilgangen til disse opplysningene når du ikke er logget inn',
  'scope.phone': 'Se telefonnummeret ditt',
  'scope.address': 'Se postadressen din',

  'claim.sub': 'Bruker-ID-en din',
  'claim.name': 'Fullt navn',
  'claim.given_name': 'Fornavn',
  'claim.family_name': 'Etternavn',
  'claim.email': 'E-postadresse',
  'claim.email_verified': 'Om e-postadressen din er bekreftet',
  'claim.birthdate': 'Fødselsdato',
  'claim.phone_number': 'Telefonnummer',
  'claim.address': 'Postadresse',
  'claim.locale': 'Foretrukket språk',

  'error.title': 'Noe gikk galt',
  'error.not_found_title': 'Fant ikke siden',
  'error.csrf': 'Skjemaet var utdatert eller ble ikke sendt fra sidene våre. Prøv igjen.',
  'error.body_too_large': 'Det du sendte, var for stort til at vi kan ta imot det.',
  'error.bad_request': 'Vi forsto ikke forespørselen. Gå tilbake og prøv igjen.',
  'error.not_found': 'Vi fant ikke siden du ba om.',
  'error.internal': 'Noe gikk galt hos oss. Prøv igjen senere.',
  'error.oidc': 'Tjenesten som sendte deg hit, sendte en forespørsel vi ikke kan godta.',
  'error.detail_label': 'Feilkode',
  'error.back': 'Gå tilbake',

  'expired.title': 'Siden er utløpt',
  'expired.message': 'Innloggingen tok for lang tid, så siden er utløpt av sikkerhetshensyn.',
  'expired.restart': 'Start på nytt',
  'expired.go_back': 'Gå tilbake til tjenesten du kom fra, og logg inn på nytt.',

  'logout.title': 'Logg ut',
  'logout.question': 'Vil du logge ut av Nordlys ID?',
  'logout.question_client': '{client} vil logge deg ut. Vil du logge ut av Nordlys ID?',
  'logout.confirm': 'Ja, logg meg ut',
  'logout.cancel': 'Nei, forbli innlogget',

  'logged_out.title': 'Du er nå logget ut',
  'logged_out.message': 'Du er nå logget ut av Nordlys ID.',
  'logged_out.message_client': 'Du er nå logget ut av {client}.',
  'logged_out.shared_computer':
    'Bruker du en delt PC, bør du også lukke nettleseren, slik at ingen andre får se opplysningene dine.',
};
