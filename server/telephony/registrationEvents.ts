import type { PbxRegistrationEvent, SipRegistration } from './PbxAdapter.js';

/** Parses a registration message of the generated config (route[REGEVENT], usrloc:contact-expired). */
export function toRegistrationEvent(
  m: Record<string, unknown>,
  at: number,
): PbxRegistrationEvent | undefined {
  const extension = m.extension;
  if (typeof extension !== 'string' || extension === '') return undefined;
  switch (m.event) {
    case 'registered':
      return {
        type: 'registered',
        extension,
        // -1: the REGISTER said nothing (a fetch, or the registrar's default applied).
        expiresSec: typeof m.expires === 'number' ? m.expires : -1,
        webPhone: m.webPhone === true,
        at,
      };
    case 'expired':
      return typeof m.contact === 'string'
        ? { type: 'expired', extension, contact: m.contact, at }
        : undefined;
    default:
      return undefined;
  }
}

/**
 * `ul.dump`'s answer, per extension: `{ Domains: [{ Domain: { Domain, AoRs: [{ Info: { AoR, Contacts } }] } }] }`;
 * each Info's contacts are read like `ul.lookup`'s.
 */
export function registrationsOfDump(
  result: unknown,
  contactsOf: (info: unknown) => SipRegistration[],
): Map<string, SipRegistration[]> {
  const out = new Map<string, SipRegistration[]>();
  const domains = (result as { Domains?: unknown } | null)?.Domains;
  if (!Array.isArray(domains)) return out;
  for (const d of domains as { Domain?: { AoRs?: unknown } }[]) {
    const aors = d.Domain?.AoRs;
    if (!Array.isArray(aors)) continue;
    for (const a of aors as { Info?: { AoR?: unknown } }[]) {
      const info = a.Info;
      if (!info || typeof info.AoR !== 'string') continue;
      // With use_domain off the AoR is the extension itself; keep the user part should a domain appear.
      const extension = info.AoR.split('@')[0] ?? info.AoR;
      const contacts = contactsOf(info);
      if (contacts.length > 0) out.set(extension, contacts);
    }
  }
  return out;
}
