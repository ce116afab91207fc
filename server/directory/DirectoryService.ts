import { randomBytes } from 'node:crypto';
import { parse as parseCsv } from 'csv-parse/sync';
import mongoose, { type FilterQuery } from 'mongoose';
import type { z } from 'zod';
import {
  CSV_COLUMNS,
  REQUIRED_CSV_COLUMNS,
  extensionSchema,
  objectIdSchema,
  pbxExtensionSchema,
  type CreateUserRequest,
  type Page,
  type PbxExtension,
  type PublicUser,
  type SearchQuery,
  type SyncResult,
  type UpdateUserRequest,
} from '../../shared/schemas/directory.js';
import { zodIssuesToDetails } from '../../shared/schemas/validate.js';
import { hashPassword } from '../util/passwords.js';
import { AppError, ValidationError } from '../errors.js';
import { extensionTaken, lastAdmin, noSuchUser } from './errors.js';
import { NumberPlan } from './NumberPlan.js';
import type { Logger } from '../logger.js';
import { KeyedSerial } from '../util/KeyedSerial.js';
import type { DirectoryEventMap, DirectoryEvents } from './DirectoryEvents.js';
import {
  searchKeysOf,
  searchWords,
  toPublicUser,
  type User,
  type UserDocument,
  type UserModel,
} from './User.js';
import { isDuplicateKey } from '../db/duplicateKey.js';

/** The same cap as syncRequestSchema, for CSV uploads. */
const MAX_SYNC_ROWS = 20_000;
/** scrypt runs on libuv's pool (4 threads by default); more in flight only queues. */
const HASH_CONCURRENCY = 4;

/** One row of a PBX list, with a problem already found while reading it (a CSV row with too many cells). */
interface SyncRow {
  row: number;
  input: unknown;
  problem?: string;
}

/** The fields an admin or a sync may change, and how they are named in `user.updated`. */
type MutableField = 'firstName' | 'lastName' | 'email' | 'role' | 'plan' | 'disabled' | 'avatarUrl';

/**
 * The directory's use cases: colleague search, the admin API, and provisioning from the PBX (sync and CSV).
 * Every change is saved first, then announced with exactly one DirectoryEvents event. Invariants that must hold
 * under concurrency (one account per extension) are left to the unique index, never to a read-then-write check.
 */
export class DirectoryService {
  readonly #users: UserModel;
  readonly #writes: KeyedSerial;
  readonly #events: DirectoryEvents;
  readonly #numbers: NumberPlan;
  readonly #logger: Logger;

  /**
   * `userWrites` orders every write to one user's document, shared with the profile and auth writers: FerretDB v1
   * rewrites the whole document on each update, so two concurrent updates (an admin's disable, the user's own
   * preferences) would otherwise lose one of them. Without one, the service orders only its own writes.
   * `numbers` is the numbering plan shared with call queues; without one, only users hold numbers.
   */
  constructor(opts: {
    users: UserModel;
    userWrites?: KeyedSerial;
    events: DirectoryEvents;
    numbers?: NumberPlan;
    logger: Logger;
  }) {
    this.#users = opts.users;
    this.#writes = opts.userWrites ?? new KeyedSerial();
    this.#events = opts.events;
    this.#numbers = opts.numbers ?? new NumberPlan(opts.users);
    this.#logger = opts.logger.child({ component: 'directory' });
  }

  /**
   * Builds the indexes and (re)computes the search keys of every user whose keys are missing or stale: users
   * written with updateOne() (the seeded admin) or before the keys existed. Call once after construction.
   */
  async init(): Promise<void> {
    await this.#users.init();
    const docs = await this.#users.find({}, { extension: 1, firstName: 1, lastName: 1, search: 1 }).lean();
    let fixed = 0;
    for (const doc of docs) {
      if (![doc.extension, doc.firstName, doc.lastName].every((v) => typeof v === 'string')) continue;
      const keys = searchKeysOf(doc);
      const current = doc.search;
      if (current?.sortKey === keys.sortKey && sameStrings(current.tokens, keys.tokens)) continue;
      // A derived field: refreshing it is not a change of the user, so updatedAt stays.
      await this.#users.updateOne({ _id: doc._id }, { $set: { search: keys } }, { timestamps: false });
      fixed++;
    }
    if (fixed > 0) this.#logger.info({ fixed }, 'directory search keys refreshed');
  }

  /**
   * Colleague search for the pickers: every word of `q` must be the start of a name word or of the extension,
   * ignoring case and accents. Disabled users never appear. Sorted by last name, then first name.
   */
  async search(query: SearchQuery): Promise<Page<PublicUser>> {
    const words = [...new Set(searchWords(query.q))];
    const filter: FilterQuery<User> = { disabled: { $ne: true } };
    if (words.length > 0) {
      filter.$and = words.map((w) => ({ 'search.tokens': { $regex: `^${escapeRegex(w)}` } }));
    }
    const [total, docs] = await Promise.all([
      this.#users.countDocuments(filter),
      this.#users
        .find(filter, { passwordHash: 0, preferences: 0 })
        .sort({ 'search.sortKey': 1, _id: 1 })
        .skip((query.page - 1) * query.pageSize)
        .limit(query.pageSize)
        .lean(),
    ]);
    return { items: docs.map(toPublicUser), total, page: query.page, pageSize: query.pageSize };
  }

  /** Any user, disabled ones included (the admin view). */
  async get(id: string): Promise<PublicUser> {
    return toPublicUser(await this.#load(id));
  }

  async create(req: CreateUserRequest): Promise<PublicUser> {
    const { password, ...fields } = req;
    const passwordHash = await hashPassword(password);
    const doc = await this.#numbers.claim(req.extension, 'user', 'extension', async () => {
      try {
        return await this.#users.create({ ...fields, passwordHash });
      } catch (err) {
        if (isDuplicateKey(err)) throw extensionTaken(req.extension);
        throw err;
      }
    });
    const user = toPublicUser(doc);
    this.#emit('user.created', user);
    return user;
  }

  /** Changes only the fields given; `email: null` and `avatarUrl: null` remove them. */
  async update(id: string, req: UpdateUserRequest): Promise<PublicUser> {
    // Read and written inside the user's queue: the document saved is never a stale one.
    return this.#writes.run(id, () => this.#update(id, req));
  }

  async #update(id: string, req: UpdateUserRequest): Promise<PublicUser> {
    const doc = await this.#load(id);
    if ((req.role === 'user' || req.disabled === true) && doc.role === 'admin' && !doc.disabled)
      await this.#keepAnAdmin(doc._id.toString());
    const changed: string[] = [];
    const { password, email, avatarUrl, ...plain } = req;
    for (const [field, value] of Object.entries(plain) as [MutableField, string | boolean | undefined][]) {
      if (value !== undefined && assign(doc, field, value)) changed.push(field);
    }
    if (email !== undefined && assign(doc, 'email', email?.toLowerCase())) changed.push('email');
    if (avatarUrl !== undefined && assign(doc, 'avatarUrl', avatarUrl ?? undefined))
      changed.push('avatarUrl');
    if (password !== undefined) {
      doc.passwordHash = await hashPassword(password);
      changed.push('password');
    }
    if (changed.length === 0) return toPublicUser(doc);
    if (!(await saveIfStillThere(doc))) throw noSuchUser();
    const user = toPublicUser(doc);
    this.#announceUpdate(user, changed);
    return user;
  }

  async remove(id: string): Promise<void> {
    if (!objectIdSchema.safeParse(id).success) throw noSuchUser();
    const existing = await this.#users.findById(id, { role: 1, disabled: 1 }).lean();
    if (existing?.role === 'admin' && !existing.disabled) await this.#keepAnAdmin(id);
    const doc = await this.#writes.run(id, () => this.#users.findByIdAndDelete(id).lean());
    if (!doc) throw noSuchUser();
    this.#emit('user.deleted', toPublicUser(doc));
  }

  /** Refuses a change that would leave no active administrator: nobody could manage the directory any more. */
  async #keepAnAdmin(leaving: string): Promise<void> {
    const others = await this.#users.countDocuments({
      role: 'admin',
      disabled: { $ne: true },
      _id: { $ne: leaving },
    });
    if (others === 0) throw lastAdmin();
  }

  /** The PBX's full list; see #reconcile. */
  async sync(rows: unknown[]): Promise<SyncResult> {
    return this.#reconcile(rows.map((input, i) => ({ row: i + 1, input })));
  }

  /** The same list as a CSV upload with a header row; see parseCsvRows. */
  async importCsv(csv: string): Promise<SyncResult> {
    return this.#reconcile(parseCsvRows(csv));
  }

  /**
   * Makes the directory match the PBX's full list. Rows are validated one by one and a bad row never stops the
   * others. Extensions in the list are created or updated (and re-enabled); active users missing from it are
   * disabled, never deleted, except administrators. A bad row whose extension can still be read protects that
   * user from being disabled: a typo in one row must not lock a colleague out. Fields the PBX leaves out (email,
   * plan) are not touched, and passwords of existing users are never overwritten.
   */
  async #reconcile(rows: SyncRow[]): Promise<SyncResult> {
    const result: SyncResult = { created: 0, updated: 0, disabled: 0, unchanged: 0, errors: [] };
    const present = new Set<string>();
    const firstRowOf = new Map<string, number>();
    const accepted: { row: number; data: PbxExtension }[] = [];

    for (const { row, input, problem } of rows) {
      const extension = extensionSchema.safeParse(rawExtension(input));
      if (extension.success) present.add(extension.data);
      const fail = (message: string): void => {
        const shown = rawExtension(input);
        result.errors.push(shown ? { row, extension: shown, message } : { row, message });
      };
      if (problem) {
        fail(problem);
        continue;
      }
      const parsed = pbxExtensionSchema.safeParse(input);
      if (!parsed.success) {
        fail(describeIssues(parsed.error));
        continue;
      }
      const first = firstRowOf.get(parsed.data.extension);
      if (first !== undefined) {
        fail(`Extension ${parsed.data.extension} is listed again (first in row ${first})`);
        continue;
      }
      firstRowOf.set(parsed.data.extension, row);
      accepted.push({ row, data: parsed.data });
    }

    const existing = await this.#users.find({}, { passwordHash: 0, preferences: 0 });
    const byExtension = new Map(existing.map((doc) => [doc.extension, doc]));

    const toCreate: { row: number; data: PbxExtension }[] = [];
    for (const entry of accepted) {
      const doc = byExtension.get(entry.data.extension);
      if (!doc) {
        toCreate.push(entry);
        continue;
      }
      const changed = applyPbxRow(doc, entry.data);
      if (changed.length === 0) {
        result.unchanged++;
      } else if (await this.#save(doc)) {
        result.updated++;
        this.#announceUpdate(toPublicUser(doc), changed);
      } else {
        result.errors.push({ row: entry.row, extension: entry.data.extension, message: deletedMeanwhile });
      }
    }

    // Without a password in the row, a random one nobody knows: the user sets one through password recovery.
    const hashes = await mapLimit(toCreate, HASH_CONCURRENCY, ({ data }) =>
      hashPassword(data.password ?? randomBytes(32).toString('base64url')),
    );
    for (const [i, { row, data }] of toCreate.entries()) {
      const { extension, firstName, lastName, email, plan } = data;
      try {
        const doc = await this.#numbers.claim(extension, 'user', 'extension', () =>
          this.#users.create({ extension, firstName, lastName, email, plan, passwordHash: hashes[i] }),
        );
        result.created++;
        this.#emit('user.created', toPublicUser(doc));
      } catch (err) {
        if (err instanceof AppError && err.code === 'CONFLICT') {
          result.errors.push({ row, extension, message: err.message });
          continue;
        }
        if (!isDuplicateKey(err)) throw err;
        // Another request created it between our read and this insert; the next sync will reconcile it.
        result.errors.push({
          row,
          extension: data.extension,
          message: 'Created meanwhile by another request',
        });
      }
    }

    for (const doc of existing) {
      if (doc.disabled || doc.role === 'admin' || present.has(doc.extension)) continue;
      doc.disabled = true;
      if (!(await this.#save(doc))) continue;
      result.disabled++;
      this.#emit('user.disabled', toPublicUser(doc));
    }

    result.errors.sort((a, b) => a.row - b.row);
    this.#logger.info(
      {
        rows: rows.length,
        created: result.created,
        updated: result.updated,
        disabled: result.disabled,
        unchanged: result.unchanged,
        errors: result.errors.length,
      },
      'directory synchronized with the PBX list',
    );
    return result;
  }

  /** save() of a loaded user in its write queue; false when it was deleted in the meantime. */
  #save(doc: UserDocument): Promise<boolean> {
    return this.#writes.run(doc._id.toString(), () => saveIfStillThere(doc));
  }

  async #load(id: string): Promise<UserDocument> {
    const doc = objectIdSchema.safeParse(id).success ? await this.#users.findById(id) : null;
    if (!doc) throw noSuchUser();
    return doc;
  }

  /** Enabling or disabling is announced as such (its payload is the whole new state); anything else as updated. */
  #announceUpdate(user: PublicUser, changed: string[]): void {
    if (changed.includes('disabled')) this.#emit(user.disabled ? 'user.disabled' : 'user.enabled', user);
    else this.#emit('user.updated', user, changed);
  }

  /** The change is saved already: a failing listener is logged, never turned into a failed request. */
  #emit<K extends keyof DirectoryEventMap>(event: K, ...args: DirectoryEventMap[K]): void {
    this.#events.safeEmit(event, ...args);
  }
}

const deletedMeanwhile = 'Deleted meanwhile by another request';

/** Sets a field when its value differs; `undefined` removes it. Returns whether it changed. */
function assign(doc: UserDocument, field: MutableField, value: string | boolean | undefined): boolean {
  if (doc[field] === value) return false;
  doc.set(field, value);
  return true;
}

/** Applies one PBX row to an existing user and returns the names of the fields it changed. */
function applyPbxRow(doc: UserDocument, data: PbxExtension): string[] {
  const changed: string[] = [];
  if (assign(doc, 'firstName', data.firstName)) changed.push('firstName');
  if (assign(doc, 'lastName', data.lastName)) changed.push('lastName');
  // Stored emails are lower case: compare like with like, or every run would "update" them again.
  if (data.email !== undefined && assign(doc, 'email', data.email.toLowerCase())) changed.push('email');
  if (data.plan !== undefined && assign(doc, 'plan', data.plan)) changed.push('plan');
  if (assign(doc, 'disabled', false)) changed.push('disabled');
  return changed;
}

/** save() of a loaded user; false when it was deleted in the meantime. */
async function saveIfStillThere(doc: UserDocument): Promise<boolean> {
  try {
    await doc.save();
    return true;
  } catch (err) {
    if (err instanceof mongoose.Error.DocumentNotFoundError) return false;
    throw err;
  }
}

/** The extension of a raw row as the admin wrote it, to point at the row in a report. */
function rawExtension(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null || !('extension' in input)) return undefined;
  const raw = input.extension;
  const text = typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : raw;
  if (typeof text !== 'string') return undefined;
  const trimmed = text.trim();
  return trimmed.length > 0 && trimmed.length <= 32 ? trimmed : undefined;
}

function describeIssues(error: z.ZodError): string {
  return zodIssuesToDetails(error)
    .map((d) => (d.path ? `${d.path}: ${d.message}` : d.message))
    .join('; ');
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

function sameStrings(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Like Promise.all over items.map(fn), with at most `limit` calls in flight. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

type CsvColumn = (typeof CSV_COLUMNS)[number];

/** "First Name", "first_name" and "FIRSTNAME" all name firstName. */
const COLUMN_BY_KEY = new Map<string, CsvColumn>(CSV_COLUMNS.map((c) => [columnKey(c), c]));

function columnKey(header: string): string {
  return header.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * Reads a CSV upload into sync rows. The header names the columns (extension, firstName, lastName required;
 * email, plan, password optional); an empty cell is an absent value; row 1 is the first line after the header.
 * A semicolon header (Italian spreadsheets export that way) switches the delimiter. Anything that stops the
 * file being read as a whole is a ValidationError; a bad row is only reported.
 */
function parseCsvRows(csv: string): SyncRow[] {
  const invalid = (message: string, detail: string): ValidationError =>
    new ValidationError(message, [{ path: 'body', message: detail }]);
  const expected = `the first line must be a header such as ${CSV_COLUMNS.join(',')}`;

  let records: string[][];
  try {
    records = parseCsv(csv, {
      bom: true,
      delimiter: guessDelimiter(csv),
      relax_column_count: true,
      skip_empty_lines: true,
    });
  } catch (err) {
    throw invalid('The CSV could not be parsed', err instanceof Error ? err.message : String(err));
  }

  const [header, ...data] = records;
  if (!header) throw invalid('The CSV is empty', expected);
  const columns: CsvColumn[] = [];
  for (const name of header) {
    const column = COLUMN_BY_KEY.get(columnKey(name));
    if (!column) throw invalid(`Unknown CSV column "${name.trim()}"`, expected);
    if (columns.includes(column)) throw invalid(`The CSV column "${column}" appears twice`, expected);
    columns.push(column);
  }
  const missing = REQUIRED_CSV_COLUMNS.filter((c) => !columns.includes(c));
  if (missing.length > 0) throw invalid(`The CSV lacks the column(s) ${missing.join(', ')}`, expected);
  if (data.length > MAX_SYNC_ROWS) {
    throw invalid('The CSV has too many rows', `at most ${MAX_SYNC_ROWS} rows after the header`);
  }

  const rows: SyncRow[] = [];
  for (const [i, cells] of data.entries()) {
    // A line of bare separators is what spreadsheets leave after the data: not a row.
    if (cells.every((c) => c.trim() === '')) continue;
    const input: Record<string, string> = {};
    for (const [j, column] of columns.entries()) {
      const cell = cells[j];
      if (cell === undefined) continue; // Trailing optional cells may be left out.
      const value = column === 'password' ? cell : cell.trim(); // Spaces may be part of a password.
      if (value !== '') input[column] = value;
    }
    const row: SyncRow = { row: i + 1, input };
    if (cells.length > columns.length) {
      row.problem = `The row has ${cells.length} cells but the header has ${columns.length} columns`;
    }
    rows.push(row);
  }
  return rows;
}

/** Comma unless the header line uses semicolons only. */
function guessDelimiter(csv: string): ',' | ';' {
  const headerLine = csv.split(/\r?\n/, 1)[0] ?? '';
  return headerLine.includes(';') && !headerLine.includes(',') ? ';' : ',';
}
