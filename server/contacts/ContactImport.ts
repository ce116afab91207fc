import {
  NO_CATEGORY_ID,
  contactInputSchema,
  type ContactFileFormat,
  type ContactInput,
  type ImportQuery,
  type ImportReport,
  type ImportRow,
} from '../../shared/schemas/contacts.js';
import { zodIssuesToDetails } from '../../shared/schemas/validate.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CategoryService } from './CategoryService.js';
import { categoryNameKey } from './CategoryService.js';
import { speedDialKey, type Contact } from './Contact.js';
import type { Caller, ContactAccess } from './ContactAccess.js';
import type { ContactService, WriteExtras } from './ContactService.js';
import { contactName, speedDialsOf } from './contactViews.js';
import { parseContactCsv } from './formats/contactCsv.js';
import type { ImportCandidate } from './formats/ImportCandidate.js';
import { parseOutlookCsv } from './formats/outlookCsv.js';
import { decodeText } from './formats/textDecoding.js';
import { parseVcards } from './formats/vcard.js';
import { normalizeNumber } from './phoneNumbers.js';
import { foldForSearch } from './searchKeys.js';

/** Rows (or cards) one import takes; a larger file is refused whole. */
export const MAX_IMPORT_ROWS = 10_000;

/** A row that passed validation, waiting to be written. */
interface Planned {
  report: ImportRow;
  input: ContactInput;
  extras: WriteExtras;
  /** The contact it updates; absent for a new one. */
  target?: Contact;
}

/**
 * CSV (Outlook and ours) and vCard imports. The whole file is decoded and parsed, and every row validated, before
 * the first write: a file that cannot be read is an INVALID_FILE error and writes nothing, and a dry run returns
 * the report the real import would give (barring concurrent changes) without writing.
 */
export class ContactImport {
  readonly #contacts: ContactService;
  readonly #categories: CategoryService;
  readonly #logger: Logger;

  constructor(opts: { contacts: ContactService; categories: CategoryService; logger: Logger }) {
    this.#contacts = opts.contacts;
    this.#categories = opts.categories;
    this.#logger = opts.logger;
  }

  async run(caller: Caller, file: Buffer, query: ImportQuery): Promise<ImportReport> {
    const candidates = parseFile(query.format, decodeText(file));
    const access = await this.#categories.access(caller);
    const names = await this.#categories.names();
    const planned = await this.#plan(access, candidates, query);
    if (!query.dryRun) {
      for (const p of planned) {
        if (p.report.action === 'skipped') continue;
        try {
          const saved = p.target
            ? await this.#contacts.updateWith(access, names, String(p.target._id), p.input, p.extras)
            : await this.#contacts.createWith(access, names, p.input, p.extras);
          p.report.contactId = String(saved._id);
        } catch (err) {
          // Changed meanwhile by someone else (a speed dial taken, the contact deleted): this row only.
          if (!(err instanceof AppError)) throw err;
          p.report.action = 'skipped';
          p.report.reason = err.message;
        }
      }
    }
    const rows = planned.map((p) => p.report);
    const count = (action: ImportRow['action']): number => rows.filter((r) => r.action === action).length;
    const report: ImportReport = {
      format: query.format,
      dryRun: query.dryRun,
      created: count('created'),
      updated: count('updated'),
      skipped: count('skipped'),
      rows,
    };
    this.#logger.info(
      {
        format: query.format,
        dryRun: query.dryRun,
        created: report.created,
        updated: report.updated,
        skipped: report.skipped,
      },
      'contacts imported',
    );
    return report;
  }

  async #plan(access: ContactAccess, candidates: ImportCandidate[], query: ImportQuery): Promise<Planned[]> {
    const idsByName = await this.#categories.idsByName();
    const matches = await this.#contacts.matchesForImport(
      access,
      candidates.flatMap((c) => (c.externalId ? [c.externalId] : [])),
    );
    const defaultCategory = query.category ?? NO_CATEGORY_ID;
    const planned: Planned[] = [];
    const keysInFile = new Map<string, number>();
    const targetsInFile = new Map<string, number>();
    const duplicates = await this.#duplicateIndex(access);

    for (const c of candidates) {
      const report: ImportRow = { row: c.row, action: 'skipped' };
      const name = contactName(c);
      if (name) report.name = name;
      const skip = (reason: string): void => {
        report.reason = reason;
        planned.push({ report, input: emptyInput(), extras: {} });
      };
      if (c.problem) {
        skip(c.problem);
        continue;
      }
      let categoryId = defaultCategory;
      const named = c.categoryNames ?? [];
      if (named.length > 0) {
        const known = named.find((n) => isNoCategory(n) || idsByName.has(categoryNameKey(n)));
        if (known === undefined) {
          skip(`unknown category "${named.join(', ')}"`);
          continue;
        }
        categoryId = idsByName.get(categoryNameKey(known)) ?? NO_CATEGORY_ID;
      }
      const parsed = contactInputSchema.safeParse({
        lastName: c.lastName,
        firstName: c.firstName,
        company: c.company,
        notes: c.notes,
        ...(c.externalId ? { externalId: c.externalId } : {}),
        personal: c.personal ?? query.personal,
        categoryId: categoryId === NO_CATEGORY_ID ? null : categoryId,
        numbers: c.numbers.map((n) => (n.speedDial ? n : { type: n.type, number: n.number })),
      });
      if (!parsed.success) {
        skip(
          zodIssuesToDetails(parsed.error)
            .map((d) => (d.path ? `${d.path}: ${d.message}` : d.message))
            .join('; '),
        );
        continue;
      }
      const input = parsed.data;
      const target = c.externalId ? matches.get(c.externalId) : undefined;
      if (target) {
        const earlier = targetsInFile.get(String(target._id));
        if (earlier !== undefined) {
          skip(`the same contact as row ${earlier}`);
          continue;
        }
        if (!access.editsContact(target)) {
          skip('you may not change the existing contact with this id');
          continue;
        }
        // An export writes the id when there is no Id esterno: matching by it must not make it one.
        if (c.externalId === String(target._id) && target.externalId === undefined) delete input.externalId;
        // An update keeps the contact where it is unless the row says otherwise.
        if (c.personal === undefined) input.personal = target.personal;
        if (named.length === 0 && query.category === undefined) {
          input.categoryId = target.categoryId === NO_CATEGORY_ID ? null : target.categoryId;
        }
      }
      const refusal =
        target &&
        input.personal === target.personal &&
        (input.categoryId ?? NO_CATEGORY_ID) === target.categoryId
          ? undefined
          : this.#contacts.refusalToCreate(access, input);
      if (refusal) {
        skip(refusal);
        continue;
      }
      if (!target) {
        const dup = duplicates(input);
        if (dup) {
          skip(`already in the address book (${dup})`);
          continue;
        }
      }
      let speedDials: string[];
      try {
        speedDials = speedDialsOf(input.numbers);
      } catch (err) {
        skip(err instanceof Error ? err.message : 'a speed dial is repeated');
        continue;
      }
      const owner = { personal: input.personal, ownerId: target?.ownerId ?? access.caller.userId };
      const keys = speedDials.map((d) => speedDialKey(owner, d));
      const clash = keys.find((k) => keysInFile.has(k));
      if (clash) {
        skip(`speed dial ${clash.split(':').pop() ?? ''} is also in row ${keysInFile.get(clash) ?? '?'}`);
        continue;
      }
      const held = await this.#contacts.heldSpeedDials(keys);
      const taken = keys.find((k) => {
        const holder = held.get(k);
        return holder !== undefined && holder !== (target ? String(target._id) : undefined);
      });
      if (taken) {
        skip(`speed dial ${taken.split(':').pop() ?? ''} is already used by another contact`);
        continue;
      }
      const extras: WriteExtras = {};
      const warnings: string[] = [];
      if (c.photo && 'data' in c.photo) {
        try {
          extras.imageJpeg = await this.#contacts.resizeImage(c.photo.data);
        } catch {
          warnings.push('the photo could not be read and was left out');
        }
      } else if (c.photo && 'uri' in c.photo) {
        // Never fetched by the server (SSRF): an http(s) link is kept for the client to show.
        if (/^https?:\/\/\S+$/i.test(c.photo.uri) && c.photo.uri.length <= 2048) {
          extras.photoUri = c.photo.uri;
          warnings.push('the photo is a link: kept as a link, not downloaded');
        } else warnings.push('the photo link is not http(s): left out');
      }
      for (const n of input.numbers) {
        if (!normalizeNumber(n.number, this.#contacts.defaultCountry).normalized.startsWith('+')) {
          warnings.push(
            `${n.number} is not a full number for ${this.#contacts.defaultCountry}: kept as its digits`,
          );
        }
      }
      for (const k of keys) keysInFile.set(k, c.row);
      if (target) targetsInFile.set(String(target._id), c.row);
      report.action = target ? 'updated' : 'created';
      if (target) report.contactId = String(target._id);
      if (warnings.length > 0) report.reason = warnings.join('; ');
      report.contact = input;
      planned.push(target ? { report, input, extras, target } : { report, input, extras });
    }
    return planned;
  }

  /**
   * Finds a contact the caller sees with the same name and a number in common, for a row with no id to match:
   * importing the same Outlook file twice must not double the address book.
   */
  async #duplicateIndex(access: ContactAccess): Promise<(input: ContactInput) => string | undefined> {
    const existing = await this.#contacts.visibleNamesAndNumbers(access);
    const index = new Map<string, string>();
    const keyOf = (name: string, normalized: string): string => `${foldForSearch(name)}\u0001${normalized}`;
    for (const c of existing)
      for (const n of c.numbers) index.set(keyOf(contactName(c), n.normalized), contactName(c));
    return (input) => {
      const name = contactName(input);
      for (const n of input.numbers) {
        const hit = index.get(
          keyOf(name, normalizeNumber(n.number, this.#contacts.defaultCountry).normalized),
        );
        if (hit !== undefined) return `${hit}, ${n.number}`;
      }
      // Rows of this file count too, once planned.
      for (const n of input.numbers) {
        index.set(
          keyOf(name, normalizeNumber(n.number, this.#contacts.defaultCountry).normalized),
          `${name} in this file`,
        );
      }
      return undefined;
    };
  }
}

function parseFile(format: ContactFileFormat, text: string): ImportCandidate[] {
  if (format === 'vcard') return parseVcards(text, MAX_IMPORT_ROWS);
  if (format === 'outlook') return parseOutlookCsv(text, MAX_IMPORT_ROWS);
  return parseContactCsv(text, MAX_IMPORT_ROWS);
}

function isNoCategory(name: string): boolean {
  return ['no category', 'nessuna categoria', 'none'].includes(categoryNameKey(name));
}

function emptyInput(): ContactInput {
  return {
    lastName: '',
    firstName: '',
    company: '',
    notes: '',
    personal: false,
    categoryId: null,
    numbers: [],
  };
}
