import { randomUUID } from 'node:crypto';
import { Method, type ICreateRoomOpts } from 'matrix-js-sdk';
import { z } from 'zod';
import { NotFoundError } from '../../errors.js';
import { enc, type MatrixClients } from './MatrixClients.js';
import { roomEventsOf, type MatrixRoomEvent } from './matrixEvents.js';

/**
 * Who a call acts as: a user's mxid, or `undefined` for the bridge's sender (which, in the calls that
 * take one, is also what the bridge's own mxid stands for).
 */
export type Actor = string | undefined;

/** A page of a room's timeline, newest first: the events that have a room event's shape. */
export interface TimelinePage {
  events: MatrixRoomEvent[];
  /** Where the next (older) page starts; absent on the last one. */
  next?: string;
}

const eventIdAnswer = z.looseObject({ event_id: z.string().min(1) });
const emptyAnswer = z.looseObject({});
const messagesAnswer = z.looseObject({ chunk: z.array(z.unknown()), end: z.string().optional() });
const eventAnswer = z.looseObject({ sender: z.string().optional(), type: z.string().optional() });
const joinedMembersAnswer = z.looseObject({ joined: z.record(z.string(), z.unknown()).optional() });
/** `m.direct` account data: the DM rooms of each partner, as any client wrote it (unknown entries kept). */
const directAnswer = z.record(z.string(), z.unknown());

/**
 * The room calls of the client-server API, in one place and typed: paths are built here only, and every answer
 * read from a raw request is checked with zod. Calls go through MatrixClients, so failures are our errors.
 */
export class MatrixRooms {
  readonly #clients: MatrixClients;
  readonly #botMxid: string;

  constructor(clients: MatrixClients, botMxid: string) {
    this.#clients = clients;
    this.#botMxid = botMxid;
  }

  async create(as: Actor, options: ICreateRoomOpts): Promise<string> {
    const { room_id: roomId } = await this.#clients.call(() => this.#clients.client(as).createRoom(options));
    return roomId;
  }

  async roomIdForAlias(alias: string): Promise<string> {
    const { room_id: roomId } = await this.#clients.call(() =>
      this.#clients.client().getRoomIdForAlias(alias),
    );
    return roomId;
  }

  async invite(as: Actor, roomId: string, mxid: string): Promise<void> {
    await this.#post(as, `/rooms/${enc(roomId)}/invite`, { user_id: mxid });
  }

  /** `mxid` joins (the bridge's own mxid joins as the bridge's sender). */
  async join(mxid: string, roomId: string): Promise<void> {
    await this.#post(mxid === this.#botMxid ? undefined : mxid, `/rooms/${enc(roomId)}/join`, {});
  }

  async leave(as: Actor, roomId: string): Promise<void> {
    await this.#clients.call(() => this.#clients.client(as).leave(roomId));
  }

  async kick(as: Actor, roomId: string, mxid: string): Promise<void> {
    await this.#clients.call(() => this.#clients.client(as).kick(roomId, mxid));
  }

  async setName(as: Actor, roomId: string, name: string): Promise<void> {
    await this.#clients.call(() => this.#clients.client(as).setRoomName(roomId, name));
  }

  async setTopic(as: Actor, roomId: string, topic: string): Promise<void> {
    await this.#clients.call(() => this.#clients.client(as).setRoomTopic(roomId, topic));
  }

  async joinedRooms(mxid: string): Promise<string[]> {
    const { joined_rooms: rooms } = await this.#clients.call(() =>
      this.#clients.client(mxid).getJoinedRooms(),
    );
    return rooms;
  }

  /** Everyone joined to the room now, as `as` sees it. */
  async joinedMembers(as: Actor, roomId: string): Promise<string[]> {
    const { joined } = await this.#clients.request(
      as,
      Method.Get,
      `/rooms/${enc(roomId)}/joined_members`,
      joinedMembersAnswer,
    );
    return Object.keys(joined ?? {});
  }

  /** A page of the room's messages (`m.room.message`), newest first; `containsUrl` keeps those with a file. */
  async messages(
    as: Actor,
    roomId: string,
    page: { limit: number; from?: string | undefined; containsUrl?: boolean },
  ): Promise<TimelinePage> {
    const filter = { types: ['m.room.message'], ...(page.containsUrl ? { contains_url: true } : {}) };
    const query: Record<string, string> = {
      dir: 'b',
      limit: String(page.limit),
      filter: JSON.stringify(filter),
    };
    if (page.from) query.from = page.from;
    const answer = await this.#clients.request(
      as,
      Method.Get,
      `/rooms/${enc(roomId)}/messages`,
      messagesAnswer,
      {
        query,
      },
    );
    // The server filter is a hint: events of other types are dropped here too.
    const events = roomEventsOf(answer.chunk).events.filter((e) => e.type === 'm.room.message');
    return answer.end && answer.chunk.length > 0 ? { events, next: answer.end } : { events };
  }

  /** Who sent an event and its type (the fields an edit's check needs). */
  async event(as: Actor, roomId: string, eventId: string): Promise<z.infer<typeof eventAnswer>> {
    return this.#clients.request(as, Method.Get, `/rooms/${enc(roomId)}/event/${enc(eventId)}`, eventAnswer);
  }

  /** Sends an `m.room.message`; the transaction id makes a client's retry land once. */
  async sendMessage(
    as: Actor,
    roomId: string,
    content: Record<string, unknown>,
    txnId: string = randomUUID(),
  ): Promise<string> {
    const { event_id: eventId } = await this.#clients.request(
      as,
      Method.Put,
      `/rooms/${enc(roomId)}/send/m.room.message/${enc(txnId)}`,
      eventIdAnswer,
      { body: content },
    );
    return eventId;
  }

  /** A public read receipt (`m.read`) up to `eventId`. */
  async readReceipt(mxid: string, roomId: string, eventId: string): Promise<void> {
    await this.#post(mxid, `/rooms/${enc(roomId)}/receipt/m.read/${enc(eventId)}`, {});
  }

  async typing(mxid: string, roomId: string, typing: boolean, timeoutMs: number): Promise<void> {
    await this.#clients.call(() => this.#clients.client(mxid).sendTyping(roomId, typing, timeoutMs));
  }

  /** Uploads to the media repository as `mxid`; returns the mxc:// URL. */
  async upload(mxid: string, data: Uint8Array, file: { type: string; name: string }): Promise<string> {
    const { content_uri: url } = await this.#clients.call(() =>
      this.#clients.client(mxid).uploadContent(data, file),
    );
    return url;
  }

  /** Adds a room to `m.direct` account data, so Matrix clients show it as a DM with `other`. */
  async addDirect(mxid: string, other: string, roomId: string): Promise<void> {
    const path = `/user/${enc(mxid)}/account_data/m.direct`;
    let current: Record<string, unknown> = {};
    try {
      current = await this.#clients.request(mxid, Method.Get, path, directAnswer);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    const listed = current[other];
    const rooms: unknown[] = Array.isArray(listed) ? (listed as unknown[]) : [];
    if (rooms.includes(roomId)) return;
    await this.#clients.request(mxid, Method.Put, path, emptyAnswer, {
      body: { ...current, [other]: [...rooms, roomId] },
    });
  }

  async #post(as: Actor, path: string, body: object): Promise<void> {
    await this.#clients.request(as, Method.Post, path, emptyAnswer, { body });
  }
}
