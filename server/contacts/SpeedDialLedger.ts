import { ConflictError } from '../errors.js';
import { isDuplicateKey } from '../db/duplicateKey.js';
import type { ContactModel, SpeedDialModel } from './Contact.js';

/**
 * How long a key whose contact is not in the store yet still counts as held. A writer reserves before it writes,
 * so a missing contact is a write in progress at first, and only a dead one once this has passed.
 */
export const SPEED_DIAL_CLAIM_MS = 60_000;

/**
 * The speed dials held by contacts, one `contactspeeddials` document per key (see SpeedDial in Contact.ts). A
 * contact reserves its keys before it is written and releases the ones it no longer holds after.
 */
export class SpeedDialLedger {
  readonly #speedDials: SpeedDialModel;
  readonly #contacts: ContactModel;
  readonly #now: () => number;

  constructor(speedDials: SpeedDialModel, contacts: ContactModel, now: () => number = Date.now) {
    this.#speedDials = speedDials;
    this.#contacts = contacts;
    this.#now = now;
  }

  /**
   * Takes the speed-dial keys for a contact. A key held by a contact that no longer holds it (a write that died
   * half-way, older than SPEED_DIAL_CLAIM_MS) is taken over; a live one is a 409 and every key taken here is given back.
   */
  async reserve(contactId: string, keys: readonly string[]): Promise<void> {
    const taken: string[] = [];
    try {
      for (const key of keys) {
        if (await this.#tryReserve(contactId, key)) {
          taken.push(key);
          continue;
        }
        const digits = key.slice(key.lastIndexOf(':') + 1);
        throw new ConflictError(`Speed dial ${digits} is already used by another contact`);
      }
    } catch (err) {
      await this.release(contactId, taken);
      throw err;
    }
  }

  async #tryReserve(contactId: string, key: string): Promise<boolean> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.#speedDials.create({ _id: key, contactId, reservedAt: new Date(this.#now()) });
        return true;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      const holder = await this.#speedDials.findById(key).lean();
      if (!holder) continue;
      if (holder.contactId === contactId) return true;
      // A recent reservation is held whatever the contacts say: its writer may not have written the contact yet.
      const age = holder.reservedAt ? this.#now() - holder.reservedAt.getTime() : Infinity;
      if (age < SPEED_DIAL_CLAIM_MS) return false;
      const digits = key.slice(key.lastIndexOf(':') + 1);
      const live = await this.#contacts.exists({ _id: holder.contactId, 'numbers.speedDial': digits });
      if (live) return false;
      await this.#speedDials.deleteOne({ _id: key, contactId: holder.contactId });
    }
    return false;
  }

  async release(contactId: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.#speedDials.deleteMany({ _id: { $in: [...keys] }, contactId });
  }

  /** Every key already held, by the holder's contact id (for an import's validation). */
  async held(keys: readonly string[]): Promise<Map<string, string>> {
    if (keys.length === 0) return new Map();
    const held = await this.#speedDials.find({ _id: { $in: [...keys] } }).lean();
    return new Map(held.map((h) => [h._id, h.contactId]));
  }

  /** A deleted contact's keys. */
  async releaseAll(contactId: string): Promise<void> {
    await this.#speedDials.deleteMany({ contactId });
  }
}
