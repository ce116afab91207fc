import type { CountryCode } from 'libphonenumber-js';
import type {
  Contact as ContactView,
  ContactInput,
  ContactNumberInput,
} from '../../shared/schemas/contacts.js';
import { ValidationError } from '../errors.js';
import type { Contact, StoredNumber } from './Contact.js';
import type { ContactAccess } from './ContactAccess.js';
import { normalizeNumber } from './phoneNumbers.js';
import { contactSearchKeys } from './searchKeys.js';

/** The stored fields of a contact, computed from an input: numbers normalized, search keys derived. */
export type ContactFields = Omit<Contact, '_id' | 'createdAt' | 'updatedAt' | 'imageVersion'>;

export function contactFields(
  input: ContactInput,
  opts: { ownerId: string; categoryName: string; defaultCountry: CountryCode; photoUri?: string | undefined },
): ContactFields {
  const digitKeys: string[] = [];
  const numbers = input.numbers.map((n: ContactNumberInput): StoredNumber => {
    const { normalized, digitKeys: keys } = normalizeNumber(n.number, opts.defaultCountry);
    digitKeys.push(...keys);
    const stored: StoredNumber = { type: n.type, number: n.number, normalized };
    if (n.speedDial !== undefined) stored.speedDial = n.speedDial;
    return stored;
  });
  const fields: ContactFields = {
    lastName: input.lastName,
    firstName: input.firstName,
    company: input.company,
    notes: input.notes,
    personal: input.personal,
    categoryId: input.categoryId ?? 'none',
    numbers,
    search: contactSearchKeys({ ...input, categoryName: opts.categoryName, digitKeys }),
  };
  if (input.externalId) fields.externalId = input.externalId;
  if (input.personal) fields.ownerId = opts.ownerId;
  if (opts.photoUri) fields.photoUri = opts.photoUri;
  return fields;
}

/** The contact's own speed dials; two rows of one contact with the same one are a validation error. */
export function speedDialsOf(numbers: readonly { speedDial?: string | undefined }[]): string[] {
  const seen = new Set<string>();
  numbers.forEach((n, i) => {
    if (n.speedDial === undefined) return;
    if (seen.has(n.speedDial)) {
      throw new ValidationError('A speed dial is repeated', [
        { path: `numbers.${i}.speedDial`, message: `speed dial ${n.speedDial} is used by another row` },
      ]);
    }
    seen.add(n.speedDial);
  });
  return [...seen];
}

/** The stored contact back as an input (what PATCH starts from, what exports write). */
export function inputOf(doc: Contact): ContactInput {
  const input: ContactInput = {
    lastName: doc.lastName,
    firstName: doc.firstName,
    company: doc.company,
    notes: doc.notes,
    personal: doc.personal,
    categoryId: doc.categoryId === 'none' ? null : doc.categoryId,
    numbers: doc.numbers.map((n) =>
      n.speedDial !== undefined
        ? { type: n.type, number: n.number, speedDial: n.speedDial }
        : { type: n.type, number: n.number },
    ),
  };
  if (doc.externalId !== undefined) input.externalId = doc.externalId;
  return input;
}

export function toContactView(
  doc: Contact,
  access: ContactAccess,
  categoryNames: ReadonlyMap<string, string>,
): ContactView {
  const id = String(doc._id);
  const view: ContactView = {
    id,
    lastName: doc.lastName,
    firstName: doc.firstName,
    company: doc.company,
    notes: doc.notes,
    personal: doc.personal,
    categoryId: doc.categoryId === 'none' ? null : doc.categoryId,
    categoryName: categoryNames.get(doc.categoryId) ?? categoryNames.get('none') ?? '',
    numbers: doc.numbers.map((n) => {
      const out: ContactView['numbers'][number] = {
        type: n.type,
        number: n.number,
        normalized: n.normalized,
      };
      if (n.speedDial !== undefined) out.speedDial = n.speedDial;
      return out;
    }),
    canEdit: access.editsContact(doc),
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  };
  if (doc.externalId !== undefined) view.externalId = doc.externalId;
  if (doc.ownerId !== undefined) view.ownerId = doc.ownerId;
  if (doc.imageVersion > 0) view.imageUrl = `/api/contacts/${id}/image?v=${doc.imageVersion}`;
  if (doc.photoUri !== undefined) view.photoUri = doc.photoUri;
  return view;
}

/** "Cognome Nome", or the company of a contact without a name. */
export function contactName(c: Pick<Contact, 'lastName' | 'firstName' | 'company'>): string {
  const name = [c.lastName, c.firstName].filter((s) => s.length > 0).join(' ');
  return name || c.company;
}
