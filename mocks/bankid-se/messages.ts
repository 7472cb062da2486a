/** The strings of the simulated BankID app, in English with a Swedish subtitle (mocks/shared/messages.ts). */
import type { Bilingual } from '../shared/messages.js';
import type { Refusal } from './app-service.js';

type Swedish = Bilingual<'sv'>;

const REFUSALS: Record<Refusal, Swedish> = {
  qrMalformed: { en: 'That is not BankID QR data. It looks like bankid.<qrStartToken>.<seconds>.<qrAuthCode>.', sv: 'Det är inte BankID-QR-data. Den ser ut så här: bankid.<qrStartToken>.<sekunder>.<qrAuthCode>.' },
  qrUnknown: { en: 'No order has that QR start token (or it has been removed).', sv: 'Ingen order har den QR-starttoken (eller så har den tagits bort).' },
  qrBadCode: { en: 'The QR code is not genuine: its qrAuthCode does not match the order’s qrStartSecret.', sv: 'QR-koden är inte äkta: dess qrAuthCode stämmer inte med orderns qrStartSecret.' },
  qrStale: { en: 'The QR code is too old: its seconds lag behind the time since the order began. Copy the current one.', sv: 'QR-koden är för gammal: sekunderna ligger efter tiden sedan ordern startade. Kopiera den aktuella.' },
  qrAhead: { en: 'The QR code claims more seconds than have passed since the order began.', sv: 'QR-koden anger fler sekunder än som gått sedan ordern startade.' },
  autostartUnknown: { en: 'No order has that autostart token (or it has been removed).', sv: 'Ingen order har den autostarttoken (eller så har den tagits bort).' },
  phoneUnknown: { en: 'No phone order is waiting for that personal number.', sv: 'Ingen telefonorder väntar på det personnumret.' },
  alreadyOpened: { en: 'This order has already been opened in a BankID app.', sv: 'Ordern har redan öppnats i en BankID-app.' },
  orderEnded: { en: 'This order has ended (or the service cancelled it). Start again from the service.', sv: 'Ordern har avslutats (eller avbrutits av tjänsten). Börja om från tjänsten.' },
  personMissing: { en: 'Choose who identifies.', sv: 'Välj vem som legitimerar sig.' },
  personNotRequired: { en: 'This order is for another personal number.', sv: 'Ordern gäller ett annat personnummer.' },
  unknownAction: { en: 'That choice is not available at this step.', sv: 'Det valet finns inte i det här steget.' },
};

export const MOCK_MESSAGES = {
  title: { en: 'BankID app (test mock)', sv: 'BankID-appen (testmock)' },
  skipLink: { en: 'Skip to the content', sv: 'Hoppa till innehållet' },
  warning: {
    en: 'This is a simulated BankID app for testing. Nobody is really identified here.',
    sv: 'Det här är en simulerad BankID-app för test. Ingen legitimeras på riktigt här.',
  },
  startHeading: { en: 'Open an order', sv: 'Öppna en order' },
  scanLegend: { en: 'Scan a QR code', sv: 'Skanna en QR-kod' },
  qrLabel: { en: 'QR data (paste the text of the QR code shown by the service)', sv: 'QR-data (klistra in texten i QR-koden som tjänsten visar)' },
  scan: { en: 'Scan', sv: 'Skanna' },
  phoneLegend: { en: 'Answer a phone order', sv: 'Svara på en telefonorder' },
  phoneLabel: { en: 'Personal number the service called (12 digits)', sv: 'Personnumret som tjänsten ringde (12 siffror)' },
  openPhone: { en: 'Open the phone order', sv: 'Öppna telefonordern' },
  apiHint: { en: 'Relying parties call the RP API at', sv: 'Förlitande parter anropar RP-API:t på' },
  autostartHint: { en: 'Same-device link', sv: 'Länk på samma enhet' },
  orderHeading: { en: 'Identify', sv: 'Legitimera dig' },
  signHeading: { en: 'Sign', sv: 'Skriv under' },
  rpSees: { en: 'The service now sees', sv: 'Tjänsten ser nu' },
  endUserIp: { en: 'Requested for the end user at', sv: 'Begärd för slutanvändaren på' },
  visibleData: { en: 'Text to sign', sv: 'Text att skriva under' },
  personLegend: { en: 'Who identifies', sv: 'Vem legitimerar sig' },
  identify: { en: 'Identify', sv: 'Legitimera' },
  cancel: { en: 'Cancel (userCancel)', sv: 'Avbryt (userCancel)' },
  approving: { en: 'Identifying as', sv: 'Legitimerar som' },
  approve: { en: 'Approve', sv: 'Godkänn' },
  failLegend: { en: 'Or simulate an outcome', sv: 'Eller simulera ett utfall' },
  failHint: { en: 'Fail with', sv: 'Misslyckas med' },
  pendingHint: { en: 'Keep pending with an unknown hint', sv: 'Vänta kvar med en okänd kod' },
  otherCancelled: {
    en: 'This person had another order running: it has failed with “cancelled” (alreadyInProgress).',
    sv: 'Personen hade en annan pågående order: den har misslyckats med ”cancelled” (alreadyInProgress).',
  },
  endedHeading: { en: 'The order has ended', sv: 'Ordern är avslutad' },
  returnToService: { en: 'Return to the service', sv: 'Tillbaka till tjänsten' },
  openAnother: { en: 'Open another order', sv: 'Öppna en annan order' },
  errorTitle: { en: 'Something went wrong', sv: 'Något gick fel' },
  csrf: { en: 'The form was out of date. Open the page again.', sv: 'Formuläret var inaktuellt. Öppna sidan igen.' },
  badRequest: { en: 'The request could not be understood.', sv: 'Begäran kunde inte förstås.' },
  notFound: { en: 'There is no such page in the BankID app.', sv: 'Det finns ingen sådan sida i BankID-appen.' },
  serverError: { en: 'The BankID mock failed. See the service log.', sv: 'BankID-mocken misslyckades. Se tjänstens logg.' },
  ...REFUSALS,
} satisfies Record<string, Swedish>;

export type MockMessageId = keyof typeof MOCK_MESSAGES;
