/** Swedish. Wording follows Migrationsverket ("Logga in", "e-postadress", "lösenord", "Avbryt"). */
import type { MessageId } from './en.js';

export const sv: Record<MessageId, string> = {
  'app.name': 'Nordlys ID',
  'layout.skip_link': 'Gå till huvudinnehållet',
  'layout.footer': 'Säker inloggning till digitala tjänster',

  'login.title': 'Logga in',
  'login.intro': 'Logga in för att fortsätta till {client}.',
  'login.email': 'E-postadress',
  'login.password': 'Lösenord',
  'login.submit': 'Logga in',
  'login.cancel': 'Avbryt',
  'login.error.invalid_credentials': 'E-postadressen eller lösenordet är fel.',
  'login.error.missing_fields': 'Ange både din e-postadress och ditt lösenord.',

  'consent.title': 'Ge åtkomst',
  'consent.intro': '{client} ber om tillåtelse att:',
  'consent.claims_heading': 'Uppgifter som kommer att delas',
  'consent.allow': 'Tillåt',
  'consent.cancel': 'Avbryt',

  'scope.openid': 'Bekräfta vem du är',
  'scope.email': 'Se din e-postadress',
  'scope.profile': 'Se ditt namn och grundläggande profiluppgifter',
  'scope.offline_access': 'Behålla åtkomsten till de här uppgifterna när du inte är inloggad',
  'scope.phone': 'Se ditt telefonnummer',
  'scope.address': 'Se din postadress',

  'claim.sub': 'Ditt användar-id',
  'claim.name': 'Fullständigt namn',
  'claim.given_name': 'Förnamn',
  'claim.family_name': 'Efternamn',
  'claim.email': 'E-postadress',
  'claim.email_verified': 'Om din e-postadress är bekräftad',
  'claim.birthdate': 'Födelsedatum',
  'claim.phone_number': 'Telefonnummer',
  'claim.address': 'Postadress',
  'claim.locale': 'Föredraget språk',

  'error.title': 'Något gick fel',
  'error.not_found_title': 'Sidan hittades inte',
  'error.csrf': 'Formuläret var inaktuellt eller skickades inte från våra sidor. Försök igen.',
  'error.body_too_large': 'Det du skickade var för stort för att vi ska kunna ta emot det.',
  'error.bad_request': 'Vi kunde inte förstå begäran. Gå tillbaka och försök igen.',
  'error.not_found': 'Vi kunde inte hitta sidan du sökte.',
  'error.internal': 'Något gick fel hos oss. Försök igen senare.',
  'error.oidc': 'Tjänsten som skickade dig hit gjorde en begäran som vi inte kan godta.',
  'error.detail_label': 'Felkod',
  'error.back': 'Gå tillbaka',

  'expired.title': 'Sidan har gått ut',
  'expired.message': 'Inloggningen tog för lång tid, så sidan har gått ut av säkerhetsskäl.',
  'expired.restart': 'Börja om',
  'expired.go_back': 'Gå tillbaka till tjänsten du kom från och logga in igen.',

  'logout.title': 'Logga ut',
  'logout.question': 'Vill du logga ut från Nordlys ID?',
  'logout.question_client': '{client} vill logga ut dig. Vill du logga ut från Nordlys ID?',
  'logout.confirm': 'Ja, logga ut mig',
  'logout.cancel': 'Nej, förbli inloggad',

  'logged_out.title': 'Du är nu utloggad',
  'logged_out.message': 'Du är nu utloggad från Nordlys ID.',
  'logged_out.message_client': 'Du är nu utloggad från {client}.',
  'logged_out.shared_computer':
    'Om du använder en allmän dator, stäng också webbläsaren så att ingen annan kan komma åt dina uppgifter.',
};
