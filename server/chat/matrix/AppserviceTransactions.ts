import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import { SafeEmitter } from '../../util/SafeEmitter.js';
import type { ChatModels } from '../chatModels.js';
import { isDuplicateKey } from '../../db/duplicateKey.js';
import { AppserviceError } from './AppserviceError.js';
import {
  parseEphemeral,
  roomEventsOf,
  transactionSchema,
  type MatrixEphemeral,
  type MatrixRoomEvent,
} from './matrixEvents.js';
import { describe } from './matrixErrors.js';

/**
 * Handles room events of a transaction (one event per call, in the transaction's order); a throw makes Synapse send
 * the transaction again, and the events not yet handled by every handler are handed over again then.
 */
export type InboundHandler = (events: MatrixRoomEvent[]) => Promise<void>;

/**
 * Handles the typing and receipts of one transaction. Synapse does not keep ephemeral data for a retry, so a
 * failure here is logged and the transaction still acknowledged.
 */
export type EphemeralHandler = (events: MatrixEphemeral[]) => Promise<void>;

export interface AppserviceTransactionsEvents {
  /**
   * A transaction was handled and is about to be acknowledged (not for a replay that was ignored): what tests
   * wait on to know that Synapse's push of something reached every handler, or that nothing came of it.
   */
  handled: [info: { txnId: string; events: MatrixRoomEvent[]; ephemeral: MatrixEphemeral[] }];
}

/** Handled transaction ids are kept this long; Synapse never replays older ones. */
export const TXN_RETENTION_MS = 30 * 24 * 3_600_000;
/** How long a pending transaction belongs to the process that claimed it (see #claim). */
export const DEFAULT_TXN_LEASE_MS = 60_000;

/**
 * Synapse's transactions to the application service, each handled once and acknowledged only once handled: see
 * #transaction for the protocol.
 */
export class AppserviceTransactions {
  readonly events: SafeEmitter<AppserviceTransactionsEvents>;
  readonly #models: ChatModels;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #leaseMs: number;
  readonly #handlers: InboundHandler[] = [];
  readonly #ephemeralHandlers: EphemeralHandler[] = [];
  /** Transactions being handled by this process, by claim: the same one arriving again waits for it. */
  readonly #running = new Map<string, Promise<void>>();
  /** This process's name on the transactions it claims. */
  readonly #instance = randomUUID();
  #handledCount = 0;

  constructor(options: { models: ChatModels; clock: Clock; logger: Logger; txnLeaseMs?: number }) {
    this.#models = options.models;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#leaseMs = options.txnLeaseMs ?? DEFAULT_TXN_LEASE_MS;
    this.events = new SafeEmitter(options.logger);
  }

  /** Forgets transactions and events older than Synapse could replay. */
  static async prune(models: ChatModels, clock: Clock): Promise<void> {
    const cutoff = new Date(clock.now() - TXN_RETENTION_MS);
    await models.txns.deleteMany({ at: { $lt: cutoff } });
    await models.handledEvents.deleteMany({ at: { $lt: cutoff } });
  }

  /** How many transactions this process handled (replays not counted). */
  get handledCount(): number {
    return this.#handledCount;
  }

  onEvents(handler: InboundHandler): void {
    this.#handlers.push(handler);
  }

  onEphemeral(handler: EphemeralHandler): void {
    this.#ephemeralHandlers.push(handler);
  }

  /**
   * Handles a transaction once, and acknowledges it only when it was handled. It is claimed in the database first
   * as `pending` (a unique _id), handled, then marked `done`; Synapse gets its 200 only after that, and resends
   * until it does.
   *
   * - A replay of a done transaction, even after our restart, is acknowledged and ignored.
   * - A handler that throws releases the claim, and the error answer makes Synapse retry.
   * - A process that dies mid-way leaves the claim pending: Synapse's retry takes it over once its lease
   *   (`txnLeaseMs`) ran out, and until then answers 503 so Synapse keeps trying. The same transaction arriving
   *   again while this process still handles it waits for that handling instead.
   * - Each room event is marked handled once every handler finished with it, and a transaction handled again skips
   *   marked events: after a crash only the event that was in flight is handled a second time.
   *
   * The claim is the txnId *and* a digest of the transaction's event ids. Synapse on SQLite numbers transactions
   * from the highest one still pending, so after a Synapse restart it starts again at 1: a txnId alone would make
   * the bridge drop every new transaction as a "replay". A real replay carries the same events (re-serialized,
   * so only their ids are compared); a reused txnId with new events is a new transaction.
   *
   * Ephemeral data (typing, receipts) is handled after the room events, so a receipt for a message of the same
   * transaction finds it in the cache.
   */
  async transaction(txnId: string, body: unknown): Promise<void> {
    const parsed = transactionSchema.safeParse(body);
    if (!parsed.success) throw new AppserviceError(400, 'M_BAD_JSON', 'A transaction needs an events list');
    const rawEphemeral = parsed.data.ephemeral ?? parsed.data['de.sorunome.msc2409.ephemeral'] ?? [];
    const claim = `${txnId}:${transactionDigest(parsed.data.events, rawEphemeral)}`;
    const running = this.#running.get(claim);
    if (running) return running;
    const attempt = this.#handle(txnId, claim, parsed.data.events, rawEphemeral).finally(() => {
      this.#running.delete(claim);
    });
    this.#running.set(claim, attempt);
    return attempt;
  }

  async #handle(txnId: string, claim: string, rawEvents: unknown[], rawEphemeral: unknown[]): Promise<void> {
    if (!(await this.#claim(txnId, claim))) return;
    const { events, skipped } = roomEventsOf(rawEvents);
    if (skipped > 0) this.#logger.warn({ txnId, skipped }, 'malformed event in a transaction skipped');
    try {
      await this.#handleEvents(events);
    } catch (err) {
      await this.#models.txns
        .deleteOne({ _id: claim, state: 'pending', owner: this.#instance })
        .catch((releaseErr: unknown) => {
          // The lease lets Synapse's retry take the claim over anyway.
          this.#logger.warn({ txnId, err: describe(releaseErr) }, 'transaction claim not released');
        });
      throw err;
    }
    const ephemeral = parseEphemeral(rawEphemeral);
    if (ephemeral.skipped > 0) {
      this.#logger.warn(
        { txnId, skipped: ephemeral.skipped },
        'malformed ephemeral data in a transaction skipped',
      );
    }
    if (ephemeral.events.length > 0) {
      for (const handler of this.#ephemeralHandlers) {
        try {
          await handler(ephemeral.events);
        } catch (err) {
          // Releasing the claim would only replay the room events: Synapse's retry carries no ephemeral data.
          this.#logger.warn({ txnId, err: describe(err) }, 'typing or receipts of a transaction not handled');
        }
      }
    }
    await this.#models.txns.updateOne(
      { _id: claim },
      { $set: { state: 'done', at: new Date(this.#clock.now()) }, $unset: { owner: 1 } },
    );
    this.#handledCount++;
    this.events.safeEmit('handled', { txnId, events, ephemeral: ephemeral.events });
  }

  /**
   * Claims a transaction for this process: true when it is ours to handle, false when it was already done. A
   * pending claim of another owner is taken over once its lease ran out (compare-and-set on owner and time, so
   * of two takers one wins); before that, or when the other taker won, Synapse is told to come back later.
   */
  async #claim(txnId: string, claim: string): Promise<boolean> {
    const now = this.#clock.now();
    try {
      await this.#models.txns.create({
        _id: claim,
        state: 'pending',
        owner: this.#instance,
        at: new Date(now),
      });
      return true;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    const known = await this.#models.txns.findOne({ _id: claim }).lean();
    if (!known) throw new AppserviceError(503, 'M_UNKNOWN', 'Transaction being released; retry');
    if (known.state !== 'pending') {
      this.#logger.debug({ txnId }, 'transaction replay ignored');
      return false;
    }
    if (now - new Date(known.at).getTime() < this.#leaseMs) {
      throw new AppserviceError(503, 'M_UNKNOWN', 'Transaction being handled; retry');
    }
    const taken = await this.#models.txns.updateOne(
      { _id: claim, state: 'pending', owner: known.owner, at: known.at },
      { $set: { owner: this.#instance, at: new Date(now) } },
    );
    if (taken.modifiedCount !== 1)
      throw new AppserviceError(503, 'M_UNKNOWN', 'Transaction being handled; retry');
    this.#logger.warn({ txnId }, 'transaction left pending (its handler stopped) taken over');
    return true;
  }

  /**
   * The room events, one at a time through every handler, skipping those already handled and marking each once
   * all handlers finished with it.
   */
  async #handleEvents(events: MatrixRoomEvent[]): Promise<void> {
    if (events.length === 0) return;
    const ids = events.map((e) => e.event_id);
    const done = new Set(
      (await this.#models.handledEvents.find({ _id: { $in: ids } }, { _id: 1 }).lean()).map((d) => d._id),
    );
    for (const event of events) {
      if (done.has(event.event_id)) continue;
      for (const handler of this.#handlers) await handler([event]);
      try {
        await this.#models.handledEvents.create({ _id: event.event_id, at: new Date(this.#clock.now()) });
      } catch (err) {
        // The same event twice in one transaction, or handled meanwhile by a taker of this transaction.
        if (!isDuplicateKey(err)) throw err;
      }
      done.add(event.event_id);
    }
  }
}

/**
 * What identifies a transaction's content across re-sends: its events' ids, in order. Synapse's retry of a
 * transaction carries its events but not its ephemeral data, so the ephemeral data counts only when there are no
 * events (else a retry would not be recognised). Without it, after a Synapse restart (see #transaction) a new
 * transaction of typing or receipts alone would pass for an old one that reused its txnId.
 */
const eventIdSchema = z.looseObject({ event_id: z.string() });

function transactionDigest(events: unknown[], ephemeral: unknown[]): string {
  const ids = events.map((e) => eventIdSchema.safeParse(e).data?.event_id ?? '');
  const identity = ids.length > 0 ? JSON.stringify(ids) : JSON.stringify(['ephemeral', ephemeral]);
  return createHash('sha256').update(identity).digest('base64url').slice(0, 22);
}
