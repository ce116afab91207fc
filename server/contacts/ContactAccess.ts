import type { FilterQuery } from 'mongoose';
import { NO_CATEGORY_ID } from '../../shared/schemas/contacts.js';
import type { UserAuth } from '../auth/authMiddleware.js';
import type { Category } from './Category.js';
import type { Contact } from './Contact.js';

/** Who is asking, as the Rubrica's rights need it. */
export interface Caller {
  userId: string;
  admin: boolean;
}

export function callerOf(auth: UserAuth): Caller {
  return { userId: auth.userId, admin: auth.role === 'admin' };
}

type CategoryRights = Pick<Category, 'public' | 'memberships'> & { _id: unknown };

/**
 * The rights of one caller over the Rubrica, computed from the categories (a small collection, read whole per
 * request). One place decides, so every route and the import and the search agree:
 *
 * - admins see and change every shared contact and every category;
 * - a category's contacts are seen by everyone when it is public, else by its members; members with
 *   `editContacts` change them; members with `editCategories` change the category itself;
 * - "No category" is seen by everyone; its contacts are changed by admins only;
 * - a personal contact is seen and changed by its owner only.
 */
export class ContactAccess {
  readonly caller: Caller;
  readonly #categories: Map<string, CategoryRights>;

  constructor(caller: Caller, categories: readonly CategoryRights[]) {
    this.caller = caller;
    this.#categories = new Map(categories.map((c) => [String(c._id), c]));
  }

  #membership(categoryId: string) {
    return this.#categories.get(categoryId)?.memberships.find((m) => m.userId === this.caller.userId);
  }

  categoryExists(categoryId: string): boolean {
    return categoryId === NO_CATEGORY_ID || this.#categories.has(categoryId);
  }

  /** Whether the caller sees the category (and so the shared contacts in it). */
  seesCategory(categoryId: string): boolean {
    if (categoryId === NO_CATEGORY_ID) return true;
    const category = this.#categories.get(categoryId);
    if (!category) return false;
    return this.caller.admin || category.public || this.#membership(categoryId) !== undefined;
  }

  /** Whether the caller may put shared contacts into, change and delete them in, the category. */
  editsContactsIn(categoryId: string): boolean {
    if (this.caller.admin) return this.categoryExists(categoryId);
    return this.#membership(categoryId)?.editContacts === true;
  }

  /** Whether the caller may change or delete the category itself. */
  editsCategory(categoryId: string): boolean {
    if (categoryId === NO_CATEGORY_ID || !this.#categories.has(categoryId)) return false;
    return this.caller.admin || this.#membership(categoryId)?.editCategories === true;
  }

  seesContact(c: Pick<Contact, 'personal' | 'ownerId' | 'categoryId'>): boolean {
    if (c.personal) return c.ownerId === this.caller.userId;
    return this.seesCategory(c.categoryId);
  }

  editsContact(c: Pick<Contact, 'personal' | 'ownerId' | 'categoryId'>): boolean {
    if (c.personal) return c.ownerId === this.caller.userId;
    return this.editsContactsIn(c.categoryId);
  }

  /** The ids of the categories whose shared contacts the caller sees, "No category" included. */
  visibleCategoryIds(): string[] {
    return [NO_CATEGORY_ID, ...[...this.#categories.keys()].filter((id) => this.seesCategory(id))];
  }

  /** The database filter of every contact the caller sees. */
  visibleFilter(): FilterQuery<Contact> {
    const shared: FilterQuery<Contact> = this.caller.admin
      ? { personal: false }
      : { personal: false, categoryId: { $in: this.visibleCategoryIds() } };
    return { $or: [{ personal: true, ownerId: this.caller.userId }, shared] };
  }
}
