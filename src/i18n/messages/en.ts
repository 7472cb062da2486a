/**
 * The English catalogue is the source: its keys are the MessageIds, and every other catalogue must have
 * exactly these keys (a missing one fails to compile; an extra one fails the i18n test).
 * Ids are stable, dotted and lower-case. Placeholders are written {name} and must appear in every translation.
 */
export const en = {
  'app.name': 'Nordlys ID',
  'layout.skip_link': 'Skip to main content',
  'layout.footer': 'Secure login for digital services',

  'login.title': 'Log in',
  'login.intro': 'Log in to continue to {client}.',
  'login.email': 'E-mail address',
  'login.password': 'Password',
  'login.submit': 'Log in',
  'login.cancel': 'Cancel',
  'login.error.invalid_credentials': 'The e-mail address or password is wrong.',
  'login.error.missing_fields': 'Enter both your e-mail address and your password.',

  'consent.title': 'Allow access',
  'consent.intro': '{client} is asking for permission to:',
  'consent.claims_heading': 'Details that will be shared',
  'consent.allow': 'Allow',
  'consent.cancel': 'Cancel',

  'scope.openid': 'Confirm who you are',
  'scope.email': 'See your e-mail address',
  'scope.profile': 'See your name and basic profile details',
  'scope.offline_access': 'Keep access to these details when you are not logged in',
  'scope.phone': 'See your phone number',
  'scope.address': 'See your postal address',

  'claim.sub': 'Your user ID',
  'claim.name': 'Full name',
  'claim.given_name': 'First name',
  'claim.family_name': 'Last name',
  'claim.email': 'E-mail address',
  'claim.email_verified': 'Whether your e-mail address is confirmed',
  'claim.birthdate': 'Date of birth',
  'claim.phone_number': 'Phone number',
  'claim.address': 'Postal address',
  'claim.locale': 'Preferred language',

  'error.title': 'Something went wrong',
  'error.not_found_title': 'Page not found',
  'error.csrf': 'This form was out of date or was not sent from our pages. Please try again.',
  'error.body_too_large': 'What you sent was too large for us to accept.',
  'error.bad_request': 'We could not understand the request. Please go back and try again.',
  'error.not_found': 'We could not find the page you asked for.',
  'error.internal': 'Something went wrong on our side. Please try again later.',
  'error.oidc': 'The service that sent you here made a request we cannot accept.',
  'error.detail_label': 'Error code',
  'error.back': 'Go back',

  'expired.title': 'The page has expired',
  'expired.message': 'The login took too long, so the page has expired for your security.',
  'expired.restart': 'Start again',
  'expired.go_back': 'Go back to the service you came from and log in again.',

  'logout.title': 'Log out',
  'logout.question': 'Do you want to log out of Nordlys ID?',
  'logout.question_client': '{client} wants to log you out. Do you want to log out of Nordlys ID?',
  'logout.confirm': 'Yes, log me out',
  'logout.cancel': 'No, stay logged in',

  'logged_out.title': 'You are now logged out',
  'logged_out.message': 'You are now logged out of Nordlys ID.',
  'logged_out.message_client': 'You are now logged out of {client}.',
  'logged_out.shared_computer':
    'If you are using a shared computer, close the browser as well so that no one else can see your information.',
} as const;

export type MessageId = keyof typeof en;
