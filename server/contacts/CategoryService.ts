import mongoose from 'mongoose';
import type {
  Category as CategoryView,
  CategoryDeleteResult,
  CategoryInput,
  CategoryListQuery,
  CategoryPage,
  CategoryPatch,
  Membership,
  MembershipInput,
} from '../../shared/schemas/contacts.js';
import { NO_CATEGORY_ID } from '../../shared/schemas/contacts.js';
import { objectIdSchema } from '../../shared/schemas/directory.js';
import { displayName, type UserModel } from '../directory/User.js';
import type { DirectoryEvents } from '../directory/DirectoryEvents.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import { KeyedSerial } from '../util/KeyedSerial.js';
import type { CategoryDocument, CategoryModel } from './Category.js';
import type { ContactModel } from './Contact.js';
import { ContactAccess, type Caller } from './ContactAccess.js';
import { foldForSearch, searchWords } from './searchKeys.js';
import { isDuplicateKey } from '../db/duplicateKey.js';

/** The built-in category's name as the API gives it; the UI translates it ("Nessuna categoria"). */
export const NO_CATEGORY_NAME = 'No category';
/** Names that would read as the built-in category. */
const RESERVED_NAMES = new Set(['no category', 'nessuna categoria', 'none']);

/**
 * The contact categories ("Categorie") and their memberships. Deleting a category never deletes a contact: they
 * move to "No category". A user deleted from the directory loses their memberships.
 */
export class CategoryService {
  readonly #categories: CategoryModel;
  readonly #contacts: ContactModel;
  readonly #users: UserModel;
  readonly #logger: Logger;
  /** FerretDB v1 rewrites whole documents: writes to one category go one at a time (see docs/architecture.md). */
  readonly #writes = new KeyedSerial();
  #unsubscribe: () => void = () => undefined;

  private constructor(opts: {
    categories: CategoryModel;
    contacts: ContactModel;
    users: UserModel;
    events: DirectoryEvents;
    logger: Logger;
  }) {
    this.#categories = opts.categories;
    this.#contacts = opts.contacts;
    this.#users = opts.users;
    this.#logger = opts.logger;
  }

  static async create(opts: {
    categories: CategoryModel;
    contacts: ContactModel;
    users: UserModel;
    events: DirectoryEvents;
    logger: Logger;
  }): Promise<CategoryService> {
    await opts.categories.init();
    const service = new CategoryService(opts);
    service.#unsubscribe = opts.events.afterUserDeleted(
      (userId) => service.removeMember(userId),
      opts.logger,
      'removing the memberships',
    );
    return service;
  }

  close(): void {
    this.#unsubscribe();
  }

  /** The caller's rights over the whole Rubrica (see ContactAccess). */
  async access(caller: Caller): Promise<ContactAccess> {
    const all = await this.#categories.find({}, { public: 1, memberships: 1 }).lean();
    return new ContactAccess(caller, all);
  }

  /** Category names by id, "No category" included. */
  async names(): Promise<Map<string, string>> {
    const all = await this.#categories.find({}, { name: 1 }).lean();
    return new Map([[NO_CATEGORY_ID, NO_CATEGORY_NAME], ...all.map((c) => [String(c._id), c.name] as const)]);
  }

  /** Category ids by folded name, for imports. */
  async idsByName(): Promise<Map<string, string>> {
    const all = await this.#categories.find({}, { nameKey: 1 }).lean();
    return new Map(all.map((c) => [c.nameKey, String(c._id)]));
  }

  /** The categories the caller sees, "No category" first, sorted by name; `q` filters by name words. */
  async list(caller: Caller, query: CategoryListQuery): Promise<CategoryPage> {
    const access = await this.access(caller);
    const words = searchWords(query.q);
    const matches = (name: string): boolean => {
      const own = searchWords(name);
      return words.every((w) => own.some((o) => o.startsWith(w)));
    };
    const all = (await this.#categories.find({}).lean())
      .filter((c) => access.seesCategory(String(c._id)) && matches(c.name))
      .sort((a, b) => a.nameKey.localeCompare(b.nameKey));
    const ids: string[] = [
      ...(matches(NO_CATEGORY_NAME) ? [NO_CATEGORY_ID] : []),
      ...all.map((c) => String(c._id)),
    ];
    const start = (query.page - 1) * query.pageSize;
    const pageIds = ids.slice(start, start + query.pageSize);
    const byId = new Map(all.map((c) => [String(c._id), c]));
    const docs = pageIds.map((id) => byId.get(id) ?? null);
    const items = await this.#views(access, pageIds, docs);
    return { items, total: ids.length, page: query.page, pageSize: query.pageSize };
  }

  async get(caller: Caller, id: string): Promise<CategoryView> {
    const access = await this.access(caller);
    if (id === NO_CATEGORY_ID) return (await this.#views(access, [id], [null]))[0] as CategoryView;
    const doc = await this.#load(id);
    if (!access.seesCategory(id)) throw new NotFoundError('No such category');
    return (await this.#views(access, [id], [doc.toObject()]))[0] as CategoryView;
  }

  /** Only administrators create categories (nobody else could be a member of one yet). */
  async create(caller: Caller, input: CategoryInput): Promise<CategoryView> {
    if (!caller.admin) throw new ForbiddenError('Only administrators create categories');
    await this.#checkMembers(input.memberships);
    let doc: CategoryDocument;
    try {
      doc = await this.#categories.create({
        name: input.name,
        nameKey: nameKeyOf(input.name),
        public: input.public,
        memberships: input.memberships,
      });
    } catch (err) {
      if (isDuplicateKey(err)) throw new ConflictError(`A category named "${input.name}" exists already`);
      throw err;
    }
    this.#logger.info({ categoryId: String(doc._id) }, 'contact category created');
    return this.get(caller, String(doc._id));
  }

  async update(caller: Caller, id: string, patch: CategoryPatch): Promise<CategoryView> {
    await this.#writes.run(id, async () => {
      const doc = await this.#load(id);
      const access = await this.access(caller);
      if (!access.seesCategory(id)) throw new NotFoundError('No such category');
      if (!access.editsCategory(id)) throw new ForbiddenError('You may not change this category');
      if (patch.memberships) await this.#checkMembers(patch.memberships);
      const renamed = patch.name !== undefined && patch.name !== doc.name;
      if (patch.name !== undefined) {
        doc.name = patch.name;
        doc.nameKey = nameKeyOf(patch.name);
      }
      if (patch.public !== undefined) doc.public = patch.public;
      if (patch.memberships) doc.set('memberships', patch.memberships);
      try {
        await doc.save();
      } catch (err) {
        if (isDuplicateKey(err)) throw new ConflictError(`A category named "${doc.name}" exists already`);
        if (err instanceof mongoose.Error.DocumentNotFoundError) throw new NotFoundError('No such category');
        throw err;
      }
      // The list sorts by category name: its contacts' sort key follows a rename.
      if (renamed) {
        await this.#contacts.updateMany(
          { categoryId: id },
          { $set: { 'search.category': searchWords(doc.name).join(' ') } },
          { timestamps: false },
        );
      }
    });
    return this.get(caller, id);
  }

  /**
   * Deletes categories, all or nothing: one the caller may not delete refuses the request. Their contacts move to
   * "No category"; the count says how many did.
   */
  async remove(caller: Caller, ids: readonly string[]): Promise<CategoryDeleteResult> {
    const access = await this.access(caller);
    for (const id of ids) {
      if (id === NO_CATEGORY_ID || !objectIdSchema.safeParse(id).success) {
        throw new ForbiddenError('"No category" is built in and cannot be deleted');
      }
      if (!access.categoryExists(id) || !access.seesCategory(id)) throw new NotFoundError('No such category');
      if (!access.editsCategory(id)) throw new ForbiddenError('You may not delete this category');
    }
    let movedContacts = 0;
    let deleted = 0;
    for (const id of ids) {
      await this.#writes.run(id, async () => {
        // Deleted first, so that no contact can be put into it while its contacts move out.
        const gone = await this.#categories.deleteOne({ _id: id });
        deleted += gone.deletedCount;
        const moved = await this.#contacts.updateMany(
          { categoryId: id },
          { $set: { categoryId: NO_CATEGORY_ID, 'search.category': '' } },
          { timestamps: false },
        );
        movedContacts += moved.modifiedCount;
      });
    }
    this.#logger.info({ deleted, movedContacts }, 'contact categories deleted');
    return { deleted, movedContacts };
  }

  /** A user left the directory: their memberships go. */
  async removeMember(userId: string): Promise<void> {
    const docs = await this.#categories.find({ 'memberships.userId': userId }, { _id: 1 }).lean();
    for (const { _id } of docs) {
      await this.#writes.run(String(_id), async () => {
        const doc = await this.#categories.findById(_id);
        if (!doc) return;
        doc.set(
          'memberships',
          doc.memberships.filter((m) => m.userId !== userId),
        );
        await doc.save();
      });
    }
    if (docs.length > 0)
      this.#logger.info({ userId, categories: docs.length }, 'memberships of a deleted user removed');
  }

  async #load(id: string): Promise<CategoryDocument> {
    const doc = objectIdSchema.safeParse(id).success ? await this.#categories.findById(id) : null;
    if (!doc) throw new NotFoundError('No such category');
    return doc;
  }

  async #checkMembers(memberships: readonly MembershipInput[]): Promise<void> {
    if (memberships.length === 0) return;
    const found = await this.#users
      .find({ _id: { $in: memberships.map((m) => m.userId) } }, { _id: 1 })
      .lean();
    const known = new Set(found.map((u) => String(u._id)));
    const details = memberships.flatMap((m, i) =>
      known.has(m.userId) ? [] : [{ path: `memberships.${i}.userId`, message: 'no such directory user' }],
    );
    if (details.length > 0) throw new ValidationError('Unknown member', details);
  }

  async #views(
    access: ContactAccess,
    ids: readonly string[],
    docs: readonly (Pick<CategoryDocument, 'name' | 'public' | 'memberships'> | null)[],
  ): Promise<CategoryView[]> {
    const memberIds = [...new Set(docs.flatMap((d) => d?.memberships.map((m) => m.userId) ?? []))];
    const users =
      memberIds.length > 0
        ? await this.#users
            .find({ _id: { $in: memberIds } }, { firstName: 1, lastName: 1, extension: 1 })
            .lean()
        : [];
    const userById = new Map(users.map((u) => [String(u._id), u]));
    const counts = await Promise.all(
      ids.map((id) => this.#contacts.countDocuments({ categoryId: id, personal: false })),
    );
    return ids.map((id, i) => {
      const doc = docs[i];
      const canEdit = access.editsCategory(id);
      const showMembers = canEdit || access.caller.admin;
      const memberships: Membership[] =
        doc && showMembers
          ? doc.memberships.flatMap((m) => {
              const u = userById.get(m.userId);
              return u
                ? [
                    {
                      userId: m.userId,
                      editContacts: m.editContacts,
                      editCategories: m.editCategories,
                      displayName: displayName(u),
                      extension: u.extension,
                    },
                  ]
                : [];
            })
          : [];
      return {
        id,
        name: doc?.name ?? NO_CATEGORY_NAME,
        builtIn: doc === null,
        public: doc?.public ?? true,
        memberships,
        contactCount: counts[i] ?? 0,
        canEdit,
        canEditContacts: access.editsContactsIn(id),
      };
    });
  }
}

/** The folded name categories are unique by, and imports match them by. */
export function categoryNameKey(name: string): string {
  return foldForSearch(name).trim().replace(/\s+/g, ' ');
}

function nameKeyOf(name: string): string {
  const key = categoryNameKey(name);
  if (RESERVED_NAMES.has(key)) throw new ConflictError(`"${name}" is the built-in category's name`);
  return key;
}
