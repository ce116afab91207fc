import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

export interface NormalizedNumber {
  /** E.164 ("+393427493700") when the number is valid for its country, else the digits as typed ("951"). */
  normalized: string;
  /** Digit strings a search may start with: E.164 without "+", national number, national format, as typed. */
  digitKeys: string[];
}

/** Only digits, without a leading international prefix "00" ("0039…" and "+39…" are the same number). */
export function dialDigits(text: string): string {
  return text.replace(/\D/g, '').replace(/^00/, '');
}

/**
 * Normalizes a phone number as a user typed it. A number with "+" or "00" is read internationally; any other
 * with `defaultCountry` (the PBX's country). Short numbers (extensions, "112") stay as their digits.
 */
export function normalizeNumber(typed: string, defaultCountry: CountryCode): NormalizedNumber {
  const raw = typed.trim().replace(/^00/, '+');
  const keys = new Set<string>();
  const typedDigits = dialDigits(typed);
  if (typedDigits) keys.add(typedDigits);
  const parsed = parsePhoneNumberFromString(raw, defaultCountry);
  if (parsed?.isValid()) {
    keys.add(parsed.number.slice(1));
    keys.add(String(parsed.nationalNumber));
    keys.add(parsed.formatNational().replace(/\D/g, ''));
    return { normalized: parsed.number, digitKeys: [...keys] };
  }
  return { normalized: raw.startsWith('+') ? `+${typedDigits}` : typedDigits, digitKeys: [...keys] };
}

/** A country code libphonenumber-js has metadata for ("IT"), for the default-country setting. */
export function isCountryCode(text: string): text is CountryCode {
  return isSupportedCountry(text);
}
