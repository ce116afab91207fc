import type { FilterQuery } from 'mongoose';
import {
  DIRECTORY_FILTER_ID,
  type PhoneSearchQuery,
  type SearchHit,
  type SearchResult,
} from '../../shared/schemas/contacts.js';
import { displayName, type User, type UserModel } from '../directory/User.js';
import type { CategoryService } from './CategoryService.js';
import type { ContactModel } from './Contact.js';
import type { Caller } from './ContactAccess.js';
import { textFilter } from './ContactService.js';
import { contactName } from './contactViews.js';
import { normalizeNumber } from './phoneNumbers.js';
import type { CountryCode } from 'libphonenumber-js';
import { escapeRegex, parseContactQuery } from './searchKeys.js';

/**
 * The phone's search (manual 2.1, Click to Call: NOME, NUMERO, TIPO, CATEGORIA): directory users with their
 * extension and the contacts the caller sees, one row per number, sorted by name.
 */
export class PhoneSearch {
  readonly #users: UserModel;
  readonly #contacts: ContactModel;
  readonly #categories: CategoryService;
  readonly #defaultCountry: CountryCode;

  constructor(opts: {
    users: UserModel;
    contacts: ContactModel;
    categories: CategoryService;
    defaultCountry: CountryCode;
  }) {
    this.#users = opts.users;
    this.#contacts = opts.contacts;
    this.#categories = opts.categories;
    this.#defaultCountry = opts.defaultCountry;
  }

  async search(caller: Caller, query: PhoneSearchQuery): Promise<SearchResult> {
    const wantUsers = query.category === undefined || query.category === DIRECTORY_FILTER_ID;
    const wantContacts = query.category !== DIRECTORY_FILTER_ID;
    const [users, contacts] = await Promise.all([
      wantUsers ? this.#userHits(query) : [],
      wantContacts ? this.#contactHits(caller, query) : [],
    ]);
    const all = [...users, ...contacts].sort(
      (a, b) =>
        a.name.localeCompare(b.name, 'it', { sensitivity: 'base' }) || a.number.localeCompare(b.number),
    );
    return { items: all.slice(0, query.limit), truncated: all.length > query.limit };
  }

  async #userHits(query: PhoneSearchQuery): Promise<SearchHit[]> {
    const { words, digits } = parseContactQuery(query.q);
    const filter: FilterQuery<User> = { disabled: { $ne: true } };
    const byWords = words.map((w) => ({ 'search.tokens': { $regex: `^${escapeRegex(w)}` } }));
    if (digits)
      filter.$or = [
        { extension: { $regex: `^${escapeRegex(digits)}` } },
        ...(byWords.length ? [{ $and: byWords }] : []),
      ];
    else if (byWords.length > 0) filter.$and = byWords;
    const docs = await this.#users
      .find(filter, { firstName: 1, lastName: 1, extension: 1 })
      .sort({ 'search.sortKey': 1, _id: 1 })
      .limit(query.limit + 1)
      .lean();
    return docs.map((u) => ({
      kind: 'user',
      id: String(u._id),
      name: displayName(u),
      number: u.extension,
      dial: u.extension,
      type: 'interno',
      categoryId: null,
      categoryName: null,
    }));
  }

  async #contactHits(caller: Caller, query: PhoneSearchQuery): Promise<SearchHit[]> {
    const access = await this.#categories.access(caller);
    const conditions: FilterQuery<unknown>[] = [access.visibleFilter(), { 'numbers.0': { $exists: true } }];
    if (query.category !== undefined) conditions.push({ categoryId: query.category });
    const text = textFilter(query.q);
    if (text) conditions.push(text);
    const [docs, names] = await Promise.all([
      this.#contacts
        .find({ $and: conditions })
        .sort({ 'search.last': 1, 'search.first': 1, _id: 1 })
        .limit(query.limit + 1)
        .lean(),
      this.#categories.names(),
    ]);
    const { digits } = parseContactQuery(query.q);
    return docs.flatMap((c) => {
      const name = contactName(c);
      // A search by number shows the numbers it found; by name, every number of the contact.
      const numbers = c.numbers.filter(
        (n) =>
          !digits ||
          name.toLowerCase().includes(query.q.toLowerCase()) ||
          normalizeNumber(n.number, this.#defaultCountry).digitKeys.some((k) => k.startsWith(digits)),
      );
      return (numbers.length > 0 ? numbers : c.numbers).map((n): SearchHit => {
        const hit: SearchHit = {
          kind: 'contact',
          id: String(c._id),
          name,
          number: n.number,
          dial: n.normalized,
          type: n.type,
          categoryId: c.categoryId === 'none' ? null : c.categoryId,
          categoryName: c.categoryId === 'none' ? null : (names.get(c.categoryId) ?? null),
          personal: c.personal,
        };
        if (c.company) hit.company = c.company;
        return hit;
      });
    });
  }
}
