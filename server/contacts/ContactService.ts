import type { CountryCode } from 'libphonenumber-js';
import { Types, type FilterQuery, type SortOrder } from 'mongoose';
import sharp from 'sharp';
import {
  NO_CATEGORY_ID,
  type BulkDeleteResult,
  type Contact as ContactView,
  type ContactInput,
  type ContactListQuery,
  type ContactPage,
  type ContactPatch,
  type ContactSort,
} from '../../shared/schemas/contacts.js';
import { objectIdSchema } from '../../shared/schemas/directory.js';
import type { DirectoryEvents } from '../directory/DirectoryEvents.js';
import { ForbiddenError, NotFoundError, UnsupportedMediaTypeError, ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import { KeyedSerial } from '../util/KeyedSerial.js';
import { SpeedDialLedger } from './SpeedDialLedger.js';
import type { CategoryService } from './CategoryService.js';
import {
  speedDialKey,
  type Contact,
  type ContactImageModel,
  type ContactModel,
  type SpeedDialModel,
} from './Contact.js';
import type { Caller, ContactAccess } from './ContactAccess.js';
import { contactFields, inputOf, speedDialsOf, toContactView, type ContactFields } from './contactViews.js';
import { escapeRegex, parseContactQuery } from './searchKeys.js';

/** Uploaded images are stored at this size (the list shows them small; a phone's contact card at most this). */
const IMAGE_SIZE_PX = 256;
/** Decompression bombs: a small file that decodes to a huge bitmap is refused before it is decoded. */
const MAX_IMAGE_INPUT_PIXELS = 40_000_000;

const SORTS: Record<string, string[]> = {
  lastName: ['search.last', 'search.first', 'search.company'],
  firstName: ['search.first', 'search.last', 'search.company'],
  company: ['search.company', 'search.last', 'search.first'],
  personal: ['personal', 'search.last', 'search.first'],
  category: ['search.category', 'search.last', 'search.first'],
};

/** What a write needs besides the input: an image to store, a photo URI kept as a link. */
export interface WriteExtras {
  imageJpeg?: Buffer | undefined;
  photoUri?: string | undefined;
}

/**
 * The contacts ("Contatti"): list, CRUD, bulk delete, images, and the writes of an import. Rights come from
 * ContactAccess. Speed dials are reserved in `contactspeeddials` before a contact is written (see SpeedDial).
 */
export class ContactService {
  readonly #contacts: ContactModel;
  readonly #images: ContactImageModel;
  readonly #ledger: SpeedDialLedger;
  readonly #categories: CategoryService;
  readonly #defaultCountry: CountryCode;
  readonly #maxImageBytes: number;
  readonly #logger: Logger;
  /** FerretDB v1 rewrites whole documents: writes to one contact go one at a time. */
  readonly #writes = new KeyedSerial();
  #unsubscribe: () => void = () => undefined;

  private constructor(opts: ContactServiceOptions) {
    this.#contacts = opts.contacts;
    this.#images = opts.images;
    this.#ledger = new SpeedDialLedger(opts.speedDials, opts.contacts);
    this.#categories = opts.categories;
    this.#defaultCountry = opts.defaultCountry;
    this.#maxImageBytes = opts.maxImageBytes;
    this.#logger = opts.logger;
  }

  static async create(opts: ContactServiceOptions): Promise<ContactService> {
    await Promise.all([opts.contacts.init(), opts.images.init(), opts.speedDials.init()]);
    const service = new ContactService(opts);
    // Personal contacts are seen by their owner only: with the owner gone, nobody could ever reach them.
    service.#unsubscribe = opts.events.afterUserDeleted(
      (userId) => service.#removePersonalOf(userId),
      opts.logger,
      'removing the personal contacts',
    );
    return service;
  }

  close(): void {
    this.#unsubscribe();
  }

  get defaultCountry(): CountryCode {
    return this.#defaultCountry;
  }

  get maxImageBytes(): number {
    return this.#maxImageBytes;
  }

  /** The filter of a list query within what the caller sees. */
  listFilter(
    access: ContactAccess,
    query: Pick<ContactListQuery, 'q' | 'category' | 'personal'>,
  ): FilterQuery<Contact> {
    const conditions: FilterQuery<Contact>[] = [access.visibleFilter()];
    if (query.category !== undefined) conditions.push({ categoryId: query.category });
    if (query.personal !== undefined) conditions.push({ personal: query.personal });
    const text = textFilter(query.q);
    if (text) conditions.push(text);
    return { $and: conditions };
  }

  async list(caller: Caller, query: ContactListQuery): Promise<ContactPage> {
    const access = await this.#categories.access(caller);
    const filter = this.listFilter(access, query);
    const [total, docs, names] = await Promise.all([
      this.#contacts.countDocuments(filter),
      this.#contacts
        .find(filter)
        .sort(sortOf(query.sort))
        .skip((query.page - 1) * query.pageSize)
        .limit(query.pageSize)
        .lean(),
      this.#categories.names(),
    ]);
    return {
      items: docs.map((d) => toContactView(d, access, names)),
      total,
      page: query.page,
      pageSize: query.pageSize,
    };
  }

  /** Contacts the caller sees, for an export: the ids given (every one must be visible), or a list filter. */
  async forExport(
    caller: Caller,
    selection: { ids?: string[] | undefined } & Pick<ContactListQuery, 'q' | 'category' | 'personal'>,
  ): Promise<{ docs: Contact[]; names: Map<string, string> }> {
    const access = await this.#categories.access(caller);
    const names = await this.#categories.names();
    if (selection.ids) {
      const docs = await this.#contacts.find({ _id: { $in: selection.ids } }).lean();
      if (docs.length !== selection.ids.length || !docs.every((d) => access.seesContact(d))) {
        throw new NotFoundError('Some of the selected contacts do not exist');
      }
      const order = new Map(selection.ids.map((id, i) => [id, i]));
      docs.sort((a, b) => (order.get(String(a._id)) ?? 0) - (order.get(String(b._id)) ?? 0));
      return { docs, names };
    }
    const docs = await this.#contacts
      .find(this.listFilter(access, selection))
      .sort(sortOf('lastName'))
      .lean();
    return { docs, names };
  }

  async get(caller: Caller, id: string): Promise<ContactView> {
    const access = await this.#categories.access(caller);
    const doc = await this.#visible(access, id);
    return toContactView(doc, access, await this.#categories.names());
  }

  async create(caller: Caller, input: ContactInput): Promise<ContactView> {
    const access = await this.#categories.access(caller);
    const names = await this.#categories.names();
    const doc = await this.createWith(access, names, input, {});
    return toContactView(doc, access, names);
  }

  /** Whether the caller may save this input as a new contact; the reason when not. */
  refusalToCreate(
    access: ContactAccess,
    input: Pick<ContactInput, 'personal' | 'categoryId'>,
  ): string | undefined {
    const categoryId = input.categoryId ?? NO_CATEGORY_ID;
    if (!access.categoryExists(categoryId) || !access.seesCategory(categoryId)) return 'no such category';
    if (!input.personal && !access.editsContactsIn(categoryId)) {
      return categoryId === NO_CATEGORY_ID
        ? 'only administrators add shared contacts without a category'
        : 'you may not add contacts to this category';
    }
    return undefined;
  }

  /** Creates a contact (also for an import); the caller's rights are checked here. */
  async createWith(
    access: ContactAccess,
    names: ReadonlyMap<string, string>,
    input: ContactInput,
    extras: WriteExtras,
  ): Promise<Contact> {
    const refusal = this.refusalToCreate(access, input);
    if (refusal === 'no such category') {
      throw new ValidationError('Unknown category', [{ path: 'categoryId', message: 'no such category' }]);
    }
    if (refusal) throw new ForbiddenError(refusal);
    const fields = this.#fields(access, names, input, extras.photoUri);
    const _id = new Types.ObjectId();
    const keys = speedDialsOf(fields.numbers).map((d) => speedDialKey(fields, d));
    await this.#ledger.reserve(String(_id), keys);
    try {
      if (extras.imageJpeg)
        await this.#images.create({ _id, data: extras.imageJpeg, contentType: 'image/jpeg' });
      const doc = await this.#contacts.create({ _id, ...fields, imageVersion: extras.imageJpeg ? 1 : 0 });
      return doc.toObject();
    } catch (err) {
      await this.#ledger.release(String(_id), keys);
      await this.#images.deleteOne({ _id });
      throw err;
    }
  }

  async update(caller: Caller, id: string, patch: ContactPatch): Promise<ContactView> {
    const access = await this.#categories.access(caller);
    const names = await this.#categories.names();
    const doc = await this.updateWith(access, names, id, patch, {});
    return toContactView(doc, access, names);
  }

  /** Changes a contact (also for an import): the caller must change it where it is and where it goes. */
  async updateWith(
    access: ContactAccess,
    names: ReadonlyMap<string, string>,
    id: string,
    patch: ContactPatch,
    extras: WriteExtras,
  ): Promise<Contact> {
    return this.#writes.run(id, async () => {
      const current = await this.#visible(access, id);
      if (!access.editsContact(current)) throw new ForbiddenError('You may not change this contact');
      const { externalId, ...rest } = patch;
      const next: ContactInput = { ...inputOf(current), ...rest };
      if (externalId === null) delete next.externalId;
      else if (externalId !== undefined) next.externalId = externalId;
      const movesOut = next.personal !== current.personal || next.categoryId !== inputOf(current).categoryId;
      if (movesOut) {
        const refusal = this.refusalToCreate(access, next);
        if (refusal === 'no such category') {
          throw new ValidationError('Unknown category', [
            { path: 'categoryId', message: 'no such category' },
          ]);
        }
        if (refusal) throw new ForbiddenError(refusal);
      }
      // A personal contact keeps its owner; one made personal becomes the caller's.
      const owner = next.personal ? (current.personal ? current.ownerId : undefined) : undefined;
      const fields = this.#fields(access, names, next, extras.photoUri ?? current.photoUri, owner);
      const oldKeys = speedDialsOf(current.numbers).map((d) => speedDialKey(current, d));
      const newKeys = speedDialsOf(fields.numbers).map((d) => speedDialKey(fields, d));
      const added = newKeys.filter((k) => !oldKeys.includes(k));
      await this.#ledger.reserve(id, added);
      let saved: Contact | null;
      try {
        if (extras.imageJpeg) {
          await this.#images.replaceOne(
            { _id: current._id },
            { data: extras.imageJpeg, contentType: 'image/jpeg' },
            { upsert: true },
          );
        }
        const replacement: Partial<Contact> = { ...fields };
        if (extras.imageJpeg) replacement.imageVersion = current.imageVersion + 1;
        const unset: Record<string, 1> = {};
        for (const key of ['externalId', 'ownerId', 'photoUri'] as const)
          if (fields[key] === undefined) unset[key] = 1;
        // FerretDB v1 refuses an empty $unset.
        const update =
          Object.keys(unset).length > 0 ? { $set: replacement, $unset: unset } : { $set: replacement };
        saved = await this.#contacts.findOneAndUpdate({ _id: current._id }, update, { new: true }).lean();
      } catch (err) {
        await this.#ledger.release(id, added);
        throw err;
      }
      if (!saved) {
        await this.#ledger.release(id, added);
        throw new NotFoundError('No such contact');
      }
      await this.#ledger.release(
        id,
        oldKeys.filter((k) => !newKeys.includes(k)),
      );
      return saved;
    });
  }

  /** Deletes contacts, all or nothing: one the caller does not see or may not delete refuses the request. */
  async remove(caller: Caller, ids: readonly string[]): Promise<BulkDeleteResult> {
    const access = await this.#categories.access(caller);
    const valid = ids.filter((id) => objectIdSchema.safeParse(id).success);
    const docs = await this.#contacts
      .find({ _id: { $in: valid } }, { personal: 1, ownerId: 1, categoryId: 1 })
      .lean();
    const seen = docs.filter((d) => access.seesContact(d));
    if (seen.length !== ids.length)
      throw new NotFoundError(ids.length === 1 ? 'No such contact' : 'Some contacts do not exist');
    if (!seen.every((d) => access.editsContact(d)))
      throw new ForbiddenError('You may not delete some of these contacts');
    let deleted = 0;
    for (const doc of seen) {
      const id = String(doc._id);
      await this.#writes.run(id, async () => {
        const gone = await this.#contacts.deleteOne({ _id: doc._id });
        deleted += gone.deletedCount;
        await Promise.all([this.#ledger.releaseAll(id), this.#images.deleteOne({ _id: doc._id })]);
      });
    }
    return { deleted };
  }

  /** Resizes an uploaded image to a JPEG of IMAGE_SIZE_PX; anything that is not an image is 415. */
  async resizeImage(data: Buffer): Promise<Buffer> {
    try {
      return await sharp(data, { limitInputPixels: MAX_IMAGE_INPUT_PIXELS, failOn: 'error' })
        .rotate()
        .resize(IMAGE_SIZE_PX, IMAGE_SIZE_PX, { fit: 'cover' })
        .flatten({ background: '#ffffff' })
        .jpeg({ quality: 82 })
        .toBuffer();
    } catch {
      throw new UnsupportedMediaTypeError('The image could not be read (send a JPEG, PNG, WebP or GIF)');
    }
  }

  async putImage(caller: Caller, id: string, data: Buffer): Promise<ContactView> {
    const access = await this.#categories.access(caller);
    const names = await this.#categories.names();
    const doc = await this.#visible(access, id);
    if (!access.editsContact(doc)) throw new ForbiddenError('You may not change this contact');
    const jpeg = await this.resizeImage(data);
    // A patch that changes nothing but the image (updateWith needs one field; notes stay as they are).
    const saved = await this.updateWith(access, names, id, { notes: doc.notes }, { imageJpeg: jpeg });
    return toContactView(saved, access, names);
  }

  async getImage(caller: Caller, id: string): Promise<{ data: Buffer; contentType: string }> {
    const access = await this.#categories.access(caller);
    const doc = await this.#visible(access, id);
    // A hydrated document: lean() would give the driver's Binary instead of a Buffer.
    const image = doc.imageVersion > 0 ? await this.#images.findById(doc._id) : null;
    if (!image) throw new NotFoundError('This contact has no image');
    return { data: image.data, contentType: image.contentType };
  }

  async deleteImage(caller: Caller, id: string): Promise<ContactView> {
    const access = await this.#categories.access(caller);
    const names = await this.#categories.names();
    const saved = await this.#writes.run(id, async () => {
      const doc = await this.#visible(access, id);
      if (!access.editsContact(doc)) throw new ForbiddenError('You may not change this contact');
      await this.#images.deleteOne({ _id: doc._id });
      return this.#contacts
        .findOneAndUpdate({ _id: doc._id }, { $set: { imageVersion: 0 } }, { new: true })
        .lean();
    });
    if (!saved) throw new NotFoundError('No such contact');
    return toContactView(saved, access, names);
  }

  /**
   * The contacts an import row may update: the visible ones whose Id esterno is the key, or whose id it is (an
   * export writes the id when there is no Id esterno).
   */
  async matchesForImport(access: ContactAccess, keys: readonly string[]): Promise<Map<string, Contact>> {
    if (keys.length === 0) return new Map();
    const ids = keys.filter((k) => objectIdSchema.safeParse(k).success);
    const docs = await this.#contacts
      .find({
        $and: [access.visibleFilter(), { $or: [{ externalId: { $in: keys } }, { _id: { $in: ids } }] }],
      })
      .lean();
    const out = new Map<string, Contact>();
    for (const d of docs) {
      if (d.externalId !== undefined) out.set(d.externalId, d);
      if (!out.has(String(d._id))) out.set(String(d._id), d);
    }
    return out;
  }

  /** The stored images of these contacts, by id (for a vCard export). */
  async imagesOf(ids: readonly Types.ObjectId[]): Promise<Map<string, Buffer>> {
    if (ids.length === 0) return new Map();
    const images = await this.#images.find({ _id: { $in: [...ids] } });
    return new Map(images.map((i) => [String(i._id), i.data]));
  }

  /** Names and numbers of every contact the caller sees, for an import's duplicate check. */
  async visibleNamesAndNumbers(
    access: ContactAccess,
  ): Promise<Pick<Contact, 'lastName' | 'firstName' | 'company' | 'numbers'>[]> {
    return this.#contacts
      .find(access.visibleFilter(), { lastName: 1, firstName: 1, company: 1, numbers: 1 })
      .lean();
  }

  /** Every speed dial already taken in the scopes of these keys, for an import's validation. */
  async heldSpeedDials(keys: readonly string[]): Promise<Map<string, string>> {
    return this.#ledger.held(keys);
  }

  #fields(
    access: ContactAccess,
    names: ReadonlyMap<string, string>,
    input: ContactInput,
    photoUri: string | undefined,
    ownerId = access.caller.userId,
  ): ContactFields {
    const categoryId = input.categoryId ?? NO_CATEGORY_ID;
    return contactFields(input, {
      ownerId,
      categoryName: categoryId === NO_CATEGORY_ID ? '' : (names.get(categoryId) ?? ''),
      defaultCountry: this.#defaultCountry,
      photoUri,
    });
  }

  async #visible(access: ContactAccess, id: string): Promise<Contact> {
    const doc = objectIdSchema.safeParse(id).success ? await this.#contacts.findById(id).lean() : null;
    if (!doc || !access.seesContact(doc)) throw new NotFoundError('No such contact');
    return doc;
  }

  async #removePersonalOf(userId: string): Promise<void> {
    const docs = await this.#contacts.find({ personal: true, ownerId: userId }, { _id: 1 }).lean();
    for (const { _id } of docs) {
      const id = String(_id);
      await this.#writes.run(id, async () => {
        await this.#contacts.deleteOne({ _id });
        await Promise.all([this.#ledger.releaseAll(id), this.#images.deleteOne({ _id })]);
      });
    }
    if (docs.length > 0)
      this.#logger.info({ userId, contacts: docs.length }, 'personal contacts of a deleted user removed');
  }
}

export interface ContactServiceOptions {
  contacts: ContactModel;
  images: ContactImageModel;
  speedDials: SpeedDialModel;
  categories: CategoryService;
  events: DirectoryEvents;
  defaultCountry: CountryCode;
  maxImageBytes: number;
  logger: Logger;
}

/** Words must each start a name word, company word or number key; a number-like query may match digits instead. */
export function textFilter(q: string): FilterQuery<Contact> | undefined {
  const { words, digits } = parseContactQuery(q);
  const byWords: FilterQuery<Contact> | undefined =
    words.length > 0
      ? { $and: words.map((w) => ({ 'search.tokens': { $regex: `^${escapeRegex(w)}` } })) }
      : undefined;
  const byDigits: FilterQuery<Contact> | undefined = digits
    ? { 'search.digits': { $regex: `^${escapeRegex(digits)}` } }
    : undefined;
  if (byWords && byDigits) return { $or: [byWords, byDigits] };
  // A query with nothing searchable in it (only punctuation) finds nothing, rather than everything.
  if (!byWords && !byDigits && q.trim() !== '') return { _id: null };
  return byWords ?? byDigits;
}

/** The column sorts one way or the other; ties always go by name, then id, ascending. */
function sortOf(sort: ContactSort): Record<string, SortOrder> {
  const descending = sort.startsWith('-');
  const [primary, ...ties] = SORTS[descending ? sort.slice(1) : sort] ?? [];
  const out: Record<string, SortOrder> = {};
  if (primary) out[primary] = descending ? -1 : 1;
  for (const f of ties) out[f] = 1;
  out._id = 1;
  return out;
}
