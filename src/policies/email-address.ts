/**
 * The longest e-mail address we accept or keep from a form: 254 characters. RFC 5321 §4.5.3.1.3 caps a
 * path at 256 octets including its angle brackets, so no deliverable address is longer (RFC 3696,
 * errata 1690); the 320 of local part (64) + "@" + domain (255) is not reachable in practice.
 */
export const MAX_EMAIL_LENGTH = 254;
