/**
 * The meetings' dial-in: a caller rings the dial-in extension and types the meeting's PIN. The PIN's format and
 * how it is written for reading are shared by the server (ICS, mail) and the web client (agenda, guest page).
 */

/** Digits of a PIN the server hands out: 10^9 PINs, so one guess in a billion (before the rate limits). */
export const DIAL_IN_PIN_DIGITS = 9;

/**
 * What a typed PIN may look like: digits only, as many as we hand out or up to three more (room to lengthen PINs
 * later without refusing the old ones as malformed). Anything else is PIN_INVALID before any lookup.
 */
export const DIAL_IN_PIN_PATTERN = /^\d{9,12}$/;

/** True for a string that has the form of a PIN (not whether any meeting has it). */
export function isDialInPinFormat(value: unknown): value is string {
  return typeof value === 'string' && DIAL_IN_PIN_PATTERN.test(value);
}

/** "123456789" → "123 456 789": groups of three from the left, the way a PIN is read out and typed. */
export function groupPinDigits(pin: string): string {
  return pin.replace(/(\d{3})(?=\d)/g, '$1 ');
}

/** How to join by phone: ring `extension`, then type `pin`. */
export interface DialInInfo {
  extension: string;
  pin: string;
}
