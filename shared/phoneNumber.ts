import {
  getCountryCallingCode,
  isSupportedCountry,
  Metadata,
  parsePhoneNumberFromString,
  type CountryCode,
} from 'libphonenumber-js';

/** The directory's extension format (extensionSchema in shared/schemas/directory.ts says the same). */
export const EXTENSION_PATTERN = /^\d{2,10}$/;

/** What a typed number dials: a colleague's extension, or an external number in E.164 ("+390391234567"). */
export type DialTarget = { kind: 'extension'; number: string } | { kind: 'external'; e164: string };

/** Why a typed number cannot be dialled, for a field error. */
export type DialError = { kind: 'invalid'; message: string };

/** Visual separators people type ("039 123.45-67", "(02) 1234"). */
const SEPARATORS = /[\s.\-/()]/g;

/**
 * Reads a number as typed. A number of the extension format that `isExtension` knows is internal; anything else
 * must be a valid number of the world, read internationally after "+" or "00" and in `defaultCountry` otherwise
 * ("039 1234567", "+39 039 1234567" and "0039 039 1234567" are all +390391234567 in Italy). An unknown number of
 * the extension format that is no valid external number is an error, not a guess.
 */
export function classifyDial(
  typed: string,
  defaultCountry: CountryCode,
  isExtension: (digits: string) => boolean,
): DialTarget | DialError {
  const compact = typed.trim().replace(SEPARATORS, '');
  if (!/^(\+|00)?\d+$/.test(compact)) {
    return { kind: 'invalid', message: 'must be a phone number or an extension' };
  }
  if (EXTENSION_PATTERN.test(compact) && isExtension(compact)) return { kind: 'extension', number: compact };
  const international = compact.replace(/^00/, '+');
  const parsed = parsePhoneNumberFromString(international, defaultCountry);
  if (parsed?.isValid()) return { kind: 'external', e164: parsed.number };
  if (EXTENSION_PATTERN.test(compact))
    return { kind: 'invalid', message: 'is no extension of the directory' };
  return { kind: 'invalid', message: 'is not a valid phone number' };
}

/**
 * What the trunk gets in the request URI for an external number: the outbound prefix (many PBXs and carriers want
 * "0" for an outside line), then the number in E.164.
 */
export function trunkDialString(e164: string, outboundPrefix: string): string {
  return `${outboundPrefix}${e164}`;
}

/**
 * What the SIP edge needs to read a national number of `country` without libphonenumber: its calling code and
 * the national prefix that E.164 drops ("0" in France and the UK; none in Italy, where the 0 is kept).
 */
export function nationalDialPlan(country: CountryCode): { callingCode: string; nationalPrefix: string } {
  const metadata = new Metadata();
  metadata.selectNumberingPlan(country);
  // nationalPrefix() exists at runtime but not in the typings; it is a string, or 0 when the country has none.
  const plan = metadata.numberingPlan as unknown as { nationalPrefix(): unknown } | undefined;
  const prefix = plan?.nationalPrefix();
  return {
    callingCode: getCountryCallingCode(country),
    nationalPrefix: typeof prefix === 'string' ? prefix : '',
  };
}

export function isDialCountry(text: string): text is CountryCode {
  return isSupportedCountry(text);
}
