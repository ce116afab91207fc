import { Method } from 'matrix-js-sdk';
import { z } from 'zod';
import type { PublicUser } from '../../../shared/schemas/directory.js';
import type { DirectoryEvents } from '../../directory/DirectoryEvents.js';
import { toPublicUser, type UserModel } from '../../directory/User.js';
import type { Logger } from '../../logger.js';
import type { ChatModels } from '../chatModels.js';
import { APPSERVICE_USER_PREFIX } from './appservice.js';
import type { MatrixClients } from './MatrixClients.js';
import { describe, matrixErrcode } from './matrixErrors.js';
import { MatrixIdentities } from './MatrixIdentities.js';
import type { MatrixRooms } from './MatrixRooms.js';

const AVATAR_MAX_BYTES = 2 * 1024 * 1024;
const AVATAR_FETCH_TIMEOUT_MS = 5_000;
const RECONCILE_CONCURRENCY = 4;

export interface MatrixProvisioningOptions {
  clients: MatrixClients;
  rooms: MatrixRooms;
  identities: MatrixIdentities;
  users: UserModel;
  events: DirectoryEvents;
  models: ChatModels;
  logger: Logger;
}

/**
 * Every active directory user has a Matrix account `@ucc_<extension>:<server>` named "Nome Cognome (200)", kept
 * current from the directory's events and reconciled at each start; a disabled one leaves every room.
 */
export class MatrixProvisioning {
  readonly #o: MatrixProvisioningOptions;
  readonly #inFlight = new Map<string, Promise<string>>();
  readonly #unsubscribe: () => void;
  #closed = false;

  constructor(options: MatrixProvisioningOptions) {
    this.#o = options;
    this.#unsubscribe = this.#subscribe();
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe();
  }

  /**
   * Makes sure a directory user has their Matrix account with the current name and avatar, and returns its
   * mxid. Cheap when nothing changed (the last provisioned state is cached in the database); `force` checks
   * Matrix itself (start-up reconciliation).
   */
  async ensureUser(user: PublicUser, force = false): Promise<string> {
    const running = this.#inFlight.get(user.id);
    if (running && !force) return running;
    const attempt = this.#provision(user, force).finally(() => {
      if (this.#inFlight.get(user.id) === attempt) this.#inFlight.delete(user.id);
    });
    this.#inFlight.set(user.id, attempt);
    return attempt;
  }

  async #provision(user: PublicUser, force: boolean): Promise<string> {
    const { clients } = this.#o;
    const mxid = this.#o.identities.mxidOf(user.extension);
    const displayName = MatrixIdentities.displayNameOf(user);
    const known = await this.#o.models.users.findOne({ userId: user.id }).lean();
    const avatarSource = user.avatarUrl;
    if (
      !force &&
      known?.mxid === mxid &&
      known.displayName === displayName &&
      known.avatarSource === avatarSource
    ) {
      return mxid;
    }
    if (!known || known.mxid !== mxid || force) await this.#register(user.extension);

    const client = clients.client(mxid);
    const current = force
      ? await clients.call(() => client.getProfileInfo(mxid, 'displayname')).catch(() => undefined)
      : undefined;
    if (force ? current?.displayname !== displayName : known?.displayName !== displayName) {
      await clients.call(() => client.setDisplayName(displayName));
    }
    let avatarMxc = known?.avatarSource === avatarSource ? known?.avatarMxc : undefined;
    if (avatarSource && !avatarMxc) {
      avatarMxc = await this.#uploadAvatar(mxid, avatarSource);
      if (avatarMxc) await clients.call(() => client.setAvatarUrl(avatarMxc ?? ''));
    } else if (!avatarSource && known?.avatarMxc) {
      await clients.call(() => client.setAvatarUrl(''));
    }
    const doc: Record<string, string> = { userId: user.id, mxid, displayName };
    const unset: Record<string, 1> = {};
    if (avatarSource) doc.avatarSource = avatarSource;
    else unset.avatarSource = 1;
    if (avatarMxc) doc.avatarMxc = avatarMxc;
    else unset.avatarMxc = 1;
    await this.#o.models.users.updateOne(
      { userId: user.id },
      Object.keys(unset).length > 0 ? { $set: doc, $unset: unset } : { $set: doc },
      { upsert: true },
    );
    return mxid;
  }

  /** Registers `@ucc_<extension>` in our exclusive namespace; an account that already exists is fine. */
  async #register(extension: string): Promise<void> {
    try {
      await this.#o.clients.request(undefined, Method.Post, '/register', z.looseObject({}), {
        body: {
          type: 'm.login.application_service',
          username: `${APPSERVICE_USER_PREFIX}${extension}`,
          inhibit_login: true,
        },
      });
    } catch (err) {
      if (matrixErrcode(err) === 'M_USER_IN_USE') return;
      throw err;
    }
  }

  /** mxc:// avatars are used as they are; http(s) ones are fetched once and put in the media repository. */
  async #uploadAvatar(mxid: string, source: string): Promise<string | undefined> {
    if (source.startsWith('mxc://')) return source;
    try {
      const response = await fetch(source, {
        signal: AbortSignal.timeout(AVATAR_FETCH_TIMEOUT_MS),
        redirect: 'follow',
      });
      const type = response.headers.get('content-type') ?? '';
      if (!response.ok || !type.startsWith('image/'))
        throw new Error(`avatar answered ${response.status} ${type}`);
      const data = new Uint8Array(await response.arrayBuffer());
      if (data.byteLength > AVATAR_MAX_BYTES) throw new Error('avatar too large');
      return await this.#o.rooms.upload(mxid, data, { type, name: 'avatar' });
    } catch (err) {
      this.#o.logger.warn({ mxid, err: describe(err) }, 'avatar not set');
      return undefined;
    }
  }

  /** A disabled (or deleted) colleague leaves every room and is shown as disabled. */
  async retire(user: PublicUser): Promise<void> {
    const { clients, rooms } = this.#o;
    const mxid = this.#o.identities.mxidOf(user.extension);
    await this.#register(user.extension);
    // The mark first, while still in the rooms: their member lists and the leave itself then show it.
    const displayName = MatrixIdentities.displayNameOf({ ...user, disabled: true });
    await clients.call(() => clients.client(mxid).setDisplayName(displayName));
    const joined = await rooms.joinedRooms(mxid);
    for (const roomId of joined) await rooms.leave(mxid, roomId);
    await this.#o.models.users.updateOne(
      { userId: user.id },
      { $set: { userId: user.id, mxid, displayName } },
      { upsert: true },
    );
    this.#o.logger.info({ mxid, rooms: joined.length }, 'Matrix account retired');
  }

  /** Every active user provisioned and every disabled one retired: fixes drift from while we were down. */
  async reconcile(): Promise<void> {
    const docs = await this.#o.users.find({}, { passwordHash: 0, preferences: 0, search: 0 }).lean();
    let failed = 0;
    let lastError: unknown;
    await forEachLimit(docs, RECONCILE_CONCURRENCY, async (doc) => {
      if (this.#closed) return;
      const user = toPublicUser(doc);
      try {
        if (user.disabled) await this.#reconcileDisabled(user);
        else await this.ensureUser(user, true);
      } catch (err) {
        failed++;
        lastError = err;
      }
    });
    if (failed > 0) {
      this.#o.logger.warn(
        { users: docs.length, failed, err: describe(lastError) },
        'reconciliation incomplete',
      );
    } else {
      this.#o.logger.info({ users: docs.length }, 'directory reconciled with Matrix');
    }
  }

  async #reconcileDisabled(user: PublicUser): Promise<void> {
    const known = await this.#o.models.users.findOne({ userId: user.id }).lean();
    if (known?.displayName === MatrixIdentities.displayNameOf(user)) return;
    await this.retire(user);
  }

  #subscribe(): () => void {
    const events = this.#o.events;
    const run = (what: string, user: PublicUser, work: () => Promise<unknown>): void => {
      if (this.#closed) return;
      work().catch((err: unknown) => {
        // The directory change is saved; the next start-up reconciliation or use will provision again.
        this.#o.logger.warn(
          { userId: user.id, err: describe(err) },
          `Matrix provisioning after ${what} failed`,
        );
      });
    };
    const created = (user: PublicUser): void => run('user.created', user, () => this.ensureUser(user));
    const updated = (user: PublicUser, changed: string[]): void => {
      if (changed.some((f) => ['firstName', 'lastName', 'avatarUrl'].includes(f)) && !user.disabled) {
        run('user.updated', user, () => this.ensureUser(user));
      }
    };
    const disabled = (user: PublicUser): void => run('user.disabled', user, () => this.retire(user));
    const enabled = (user: PublicUser): void => run('user.enabled', user, () => this.ensureUser(user, true));
    const deleted = (user: PublicUser): void =>
      run('user.deleted', user, () => this.retire({ ...user, disabled: true }));
    events.on('user.created', created);
    events.on('user.updated', updated);
    events.on('user.disabled', disabled);
    events.on('user.enabled', enabled);
    events.on('user.deleted', deleted);
    return () => {
      events.off('user.created', created);
      events.off('user.updated', updated);
      events.off('user.disabled', disabled);
      events.off('user.enabled', enabled);
      events.off('user.deleted', deleted);
    };
  }
}

async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
