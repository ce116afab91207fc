import { EventEmitter, once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { backoffDelayMs, type Backoff } from '../shared/backoff.js';
import { MEDIA_CODECS } from './mediaCodecs.js';
import { MediaUnavailableError } from './mediaErrors.js';
import type { PooledWorker, WorkerPool } from './WorkerPool.js';

export interface MeetingMediaOptions {
  pool: WorkerPool;
  /** Past this many consumers on a router, newcomers are placed on a router on another worker. */
  consumerThreshold: number;
  logger: Logger;
  /** How long a media request waits for the router being rebuilt after a worker died, before it is refused. */
  rebuildWaitMs?: number;
}

/** A worker that looked alive may have died too (SIGKILLs arrive together): the next attempt is this much later. */
const REBUILD_BACKOFF: Backoff = { firstMs: 100, maxMs: 2_000 };
const DEFAULT_REBUILD_WAIT_MS = 10_000;

export interface MeetingMediaEvents {
  /** The loudest audio producer changed. */
  activespeaker: [producerId: string];
  /** A router died with its worker; participants placed on it must rebuild their transports. */
  routerlost: [routerId: string];
  close: [];
}

interface RouterSlot {
  router: types.Router;
  worker: PooledWorker;
  consumers: number;
}

/**
 * The routers of one meeting. It starts on the least-loaded worker; when that router holds more consumers than
 * the threshold, newcomers go to a router on another worker, and every producer is piped to every router
 * (pipeToRouter), so anyone can consume anyone. At most one router per worker, which lets piped producers keep
 * their ids. It knows media ids only: nothing of users or meeting rules.
 */
export class MeetingMedia extends EventEmitter<MeetingMediaEvents> {
  readonly #o: MeetingMediaOptions;
  readonly #slots: RouterSlot[] = [];
  /** Every producer of the meeting, by id, with the router it was produced on. */
  readonly #producers = new Map<string, { producer: types.Producer; router: types.Router }>();
  #observer: types.ActiveSpeakerObserver | undefined;
  /** The audio producers in the observer: the unmuted ones. */
  readonly #listened = new Set<string>();
  #closed = false;
  /** The rebuild after the last router was lost, while it runs: media requests wait for it. */
  #rebuilding: Promise<void> | undefined;
  /** Ends the rebuild's waits when the meeting closes. */
  readonly #abort = new AbortController();

  private constructor(options: MeetingMediaOptions) {
    super();
    this.#o = options;
  }

  static async create(options: MeetingMediaOptions): Promise<MeetingMedia> {
    const media = new MeetingMedia(options);
    await media.#addRouter(media.#leastLoadedWorker([]));
    return media;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get rtpCapabilities(): types.RtpCapabilities {
    const home = this.#slots[0];
    if (!home) throw new MediaUnavailableError('meeting media has no router');
    return home.router.rtpCapabilities;
  }

  get routers(): readonly types.Router[] {
    return this.#slots.map((s) => s.router);
  }

  /**
   * Resolves once the meeting has a router: at once, or when the rebuild after its worker died is done. Clients
   * are told `media.restart` as soon as their router is lost and ask again right away, so the requests wait here
   * instead of failing in the moment before the new router exists. Refused (MediaUnavailableError) past the wait.
   */
  async routed(): Promise<void> {
    if (this.#closed) throw new MediaUnavailableError('meeting media closed');
    if (this.#slots.length > 0) return;
    this.#rebuild();
    const rebuilding = this.#rebuilding;
    if (rebuilding) {
      const wait = new AbortController();
      const gaveUp = sleep(this.#o.rebuildWaitMs ?? DEFAULT_REBUILD_WAIT_MS, true, { signal: wait.signal });
      await Promise.race([rebuilding, gaveUp.catch(() => false)]).finally(() => wait.abort());
    }
    if (this.#slots.length === 0)
      throw new MediaUnavailableError('the media of this meeting is being restored');
  }

  /** Where a new participant's transports go: the first router under the threshold, or a new one. */
  async placeParticipant(): Promise<{ router: types.Router; webRtcServer: types.WebRtcServer }> {
    await this.routed();
    const open = this.#slots.find((s) => s.consumers < this.#o.consumerThreshold && !s.router.closed);
    if (open) return { router: open.router, webRtcServer: open.worker.webRtcServer };
    const used = this.#slots.map((s) => s.worker.index);
    const spare = this.#o.pool.workers.filter((w) => !used.includes(w.index));
    if (spare.length === 0) {
      // Every worker already has a router of this meeting: use the least busy one.
      const least = [...this.#slots].sort((a, b) => a.consumers - b.consumers)[0];
      if (!least) throw new MediaUnavailableError('meeting media has no router');
      return { router: least.router, webRtcServer: least.worker.webRtcServer };
    }
    const slot = await this.#addRouter(this.#leastLoadedWorker(used));
    return { router: slot.router, webRtcServer: slot.worker.webRtcServer };
  }

  /** Makes a new producer consumable from every router of the meeting. */
  async publish(producer: types.Producer, on: types.Router): Promise<void> {
    this.#producers.set(producer.id, { producer, router: on });
    producer.observer.once('close', () => this.#producers.delete(producer.id));
    await Promise.all(
      this.#slots.filter((s) => s.router !== on).map((s) => this.#pipe(producer.id, on, s.router)),
    );
    if (producer.kind !== 'audio') return;
    producer.observer.on('pause', () => void this.#listen(producer, false));
    producer.observer.on('resume', () => void this.#listen(producer, true));
    producer.observer.once('close', () => this.#listened.delete(producer.id));
    await this.#listen(producer, !producer.paused);
  }

  /** The producers a participant can consume (everyone's but their own). */
  producers(): types.Producer[] {
    return [...this.#producers.values()].map((p) => p.producer);
  }

  consumerAdded(router: types.Router): void {
    const slot = this.#slots.find((s) => s.router === router);
    if (!slot) return;
    slot.consumers++;
    this.#o.pool.addLoad(slot.worker.index, 1);
  }

  consumerRemoved(router: types.Router): void {
    const slot = this.#slots.find((s) => s.router === router);
    if (!slot || slot.consumers === 0) return;
    slot.consumers--;
    this.#o.pool.addLoad(slot.worker.index, -1);
  }

  /** Idempotent: closes every router, and with them every transport, producer and consumer on them. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    for (const slot of this.#slots.splice(0)) slot.router.close();
    this.#producers.clear();
    this.emit('close');
  }

  /**
   * The meeting lost its last router with its worker: a new one on a live worker, or, when none is left (a pool of
   * one, or every worker killed at once), on a replacement as soon as the pool has it. A worker that still looked
   * alive may be dying too, so a failed attempt is tried again, with backoff, until the meeting has a router or
   * closes. One rebuild at a time; media requests wait for it (`routed`).
   */
  #rebuild(): void {
    if (this.#closed || this.#slots.length > 0 || this.#rebuilding) return;
    this.#rebuilding = this.#rebuildLoop()
      .catch((err: unknown) => {
        if (!this.#closed) this.#o.logger.error({ err }, 'could not rebuild the meeting router');
      })
      .finally(() => {
        this.#rebuilding = undefined;
      });
  }

  async #rebuildLoop(): Promise<void> {
    const signal = this.#abort.signal;
    let failures = 0;
    while (!this.#closed && this.#slots.length === 0) {
      if (!this.#o.pool.workers.some((w) => !w.worker.closed)) {
        await once(this.#o.pool, 'workerreplaced', { signal });
        continue;
      }
      try {
        await this.#addRouter(this.#leastLoadedWorker([]));
      } catch (err) {
        if (this.#closed) return;
        const retryMs = backoffDelayMs(REBUILD_BACKOFF, failures++);
        this.#o.logger.warn({ err, retryMs }, 'rebuilding the meeting router failed; trying again');
        await sleep(retryMs, undefined, { signal });
      }
    }
  }

  #leastLoadedWorker(exclude: number[]): PooledWorker {
    // A worker that just died is still in the pool until its 'died' handler runs: never place anything there.
    const candidates = this.#o.pool.workers.filter((w) => !exclude.includes(w.index) && !w.worker.closed);
    const sorted = candidates.sort((a, b) => this.#o.pool.load(a.index) - this.#o.pool.load(b.index));
    const first = sorted[0];
    if (!first) throw new MediaUnavailableError('no mediasoup worker available');
    return first;
  }

  async #addRouter(worker: PooledWorker): Promise<RouterSlot> {
    const router = await worker.worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    if (this.#closed) {
      // Closed while the router was being made (a rebuild racing the meeting's end): it must not leak.
      router.close();
      throw new MediaUnavailableError('meeting media closed');
    }
    const slot: RouterSlot = { router, worker, consumers: 0 };
    this.#slots.push(slot);
    this.#o.pool.addLoad(worker.index, 1);
    router.observer.once('close', () => this.#o.pool.addLoad(worker.index, -1));
    router.once('workerclose', () => {
      const i = this.#slots.indexOf(slot);
      if (i >= 0) this.#slots.splice(i, 1);
      this.#o.logger.warn({ routerId: router.id }, 'a meeting router died with its worker');
      this.emit('routerlost', router.id);
      this.#rebuild();
    });
    // Existing producers become consumable here too.
    await Promise.all([...this.#producers.values()].map((p) => this.#pipe(p.producer.id, p.router, router)));
    if (this.#slots.length === 1) await this.#observe(router);
    return slot;
  }

  async #observe(router: types.Router): Promise<void> {
    this.#observer = await router.createActiveSpeakerObserver({ interval: 300 });
    this.#observer.on('dominantspeaker', ({ producer }) => this.emit('activespeaker', producer.id));
  }

  /**
   * Only an unmuted microphone takes part in the race for active speaker. mediasoup's observer skips a paused
   * producer as a candidate but keeps one that is already the dominant speaker, and the others must then
   * outscore it (sustained speech), so a muted person could stay "speaking". A muted mic leaves the observer
   * (which then names one of the others at once) and rejoins, starting from silence, when unmuted.
   */
  async #listen(producer: types.Producer, on: boolean): Promise<void> {
    const observer = this.#observer;
    if (!observer || observer.closed || producer.closed || this.#listened.has(producer.id) === on) return;
    // The set changes before the request goes out: the channel keeps requests in order, so a quick
    // mute/unmute reaches the worker as remove-then-add, never as a duplicate add.
    if (on) this.#listened.add(producer.id);
    else this.#listened.delete(producer.id);
    const producerId = producer.id;
    try {
      await (on ? observer.addProducer({ producerId }) : observer.removeProducer({ producerId }));
    } catch (err) {
      // The producer or the router closed meanwhile: there is nothing left to observe.
      if (!producer.closed && !observer.closed) {
        this.#o.logger.warn({ err, producerId }, 'could not update the active speaker observer');
      }
    }
  }

  async #pipe(producerId: string, from: types.Router, to: types.Router): Promise<void> {
    if (from.closed || to.closed) return;
    await from.pipeToRouter({ producerId, router: to });
  }
}
