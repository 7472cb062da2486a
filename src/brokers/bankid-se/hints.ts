/**
 * Which of BankID's recommended user messages (RFA codes) fits a collect answer or an API error
 * (reference/BANKID-SE.md). Pure; the texts live in the message catalogues. Rules:
 * - unknown hint codes are normal (BankID adds them): pending → RFA21, failed → RFA22;
 * - an order started by QR and one started on this device differ for `outstandingTransaction` and
 *   `startFailed`; desktop and mobile differ for `started`;
 * - errors: `alreadyInProgress` → RFA4; the transient ones (`requestTimeout`, `maintenance`,
 *   `internalError`, and `tooManyRequests`, which BankID's table leaves out but is equally "try again") → RFA5;
 *   anything else, a missing code included → RFA22.
 */

export type Rfa =
  | 'RFA1'
  | 'RFA3'
  | 'RFA4'
  | 'RFA5'
  | 'RFA6'
  | 'RFA8'
  | 'RFA9'
  | 'RFA13'
  | 'RFA15A'
  | 'RFA15B'
  | 'RFA16'
  | 'RFA17A'
  | 'RFA17B'
  | 'RFA21'
  | 'RFA22'
  | 'RFA23';

/** How the order was started: QR code scanned on another device, or the autostart link on this one. */
export type StartMode = 'qr' | 'same-device';

export function rfaForPending(hint: string | undefined, mode: StartMode, mobile: boolean): Rfa {
  switch (hint) {
    case 'outstandingTransaction':
      return mode === 'qr' ? 'RFA1' : 'RFA13';
    case 'noClient':
      return 'RFA1';
    case 'started':
      return mobile ? 'RFA15B' : 'RFA15A';
    case 'userSign':
      return 'RFA9';
    case 'userMrtd':
      return 'RFA23';
    default:
      return 'RFA21';
  }
}

export function rfaForFailed(hint: string | undefined, mode: StartMode): Rfa {
  switch (hint) {
    case 'userCancel':
      return 'RFA6';
    case 'cancelled':
      return 'RFA3';
    case 'expiredTransaction':
      return 'RFA8';
    case 'certificateErr':
      return 'RFA16';
    case 'startFailed':
      return mode === 'qr' ? 'RFA17B' : 'RFA17A';
    default:
      return 'RFA22';
  }
}

export function rfaForError(errorCode: string | undefined): Rfa {
  switch (errorCode) {
    case 'alreadyInProgress':
      return 'RFA4';
    case 'requestTimeout':
    case 'maintenance':
    case 'internalError':
    case 'tooManyRequests':
      return 'RFA5';
    default:
      return 'RFA22';
  }
}
