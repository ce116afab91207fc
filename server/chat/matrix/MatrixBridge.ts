import type { Router } from 'express';
import type { ChatMemberView } from '../../../shared/schemas/chat.js';
import type { PublicUser } from '../../../shared/schemas/directory.js';
import type { Clock } from '../../clock.js';
import type { DirectoryEvents } from '../../directory/DirectoryEvents.js';
import type { UserModel } from '../../directory/User.js';
import type { Logger } from '../../logger.js';
import type { ChatModels } from '../chatModels.js';
import type { MatrixEndpoint } from './appservice.js';
import { appserviceRouter } from './appserviceRouter.js';
import {
  AppserviceTransactions,
  type EphemeralHandler,
  type InboundHandler,
} from './AppserviceTransactions.js';
import { MatrixClients, type MediaDownload } from './MatrixClients.js';
import { botMxidOf, MatrixIdentities } from './MatrixIdentities.js';
import { describe } from './matrixErrors.js';
import { MatrixProvisioning } from './MatrixProvisioning.js';
import { MatrixRooms } from './MatrixRooms.js';
import { routeSdkLogs } from './sdkLogger.js';

export interface MatrixBridgeOptions {
  endpoint: MatrixEndpoint;
  users: UserModel;
  events: DirectoryEvents;
  models: ChatModels;
  clock: Clock;
  logger: Logger;
  /** Bound on every homeserver call, so a hung Synapse becomes CHAT_UNAVAILABLE instead of a stuck request. */
  requestTimeoutMs?: number;
  /**
   * How long a transaction claimed by a process that then stopped stays its own before Synapse's retry takes it
   * over (DEFAULT_TXN_LEASE_MS); longer than handling one takes.
   */
  txnLeaseMs?: number;
}

/**
 * The application service between the directory and Matrix, put together from its parts:
 *
 * - MatrixClients: every call is made with the `as_token`, as the user (`?user_id=` masquerading) or as the
 *   bridge's own sender; MatrixRooms is the typed facade of the room calls over it.
 * - MatrixIdentities and MatrixProvisioning: every active directory user has a Matrix account
 *   `@ucc_<extension>:<server>` named "Nome Cognome (200)", kept current and reconciled at each start.
 * - AppserviceTransactions and appserviceRouter: Synapse's transactions are verified (hs_token), handled once
 *   (remembered in the database), and their events handed to the registered handlers (ChatService, MeetingChat).
 */
export class MatrixBridge {
  readonly botMxid: string;
  readonly rooms: MatrixRooms;
  readonly identities: MatrixIdentities;
  readonly transactions: AppserviceTransactions;
  /** Settles when the start-up reconciliation is over (it never rejects). */
  readonly reconciled: Promise<void>;
  readonly #o: MatrixBridgeOptions;
  readonly #clients: MatrixClients;
  readonly #provisioning: MatrixProvisioning;

  private constructor(options: MatrixBridgeOptions) {
    this.#o = options;
    const { endpoint, logger } = options;
    this.botMxid = botMxidOf(endpoint.serverName);
    const clientOptions = {
      endpoint,
      botMxid: this.botMxid,
      logger: logger.child({ part: 'matrix-client' }),
    };
    this.#clients = new MatrixClients(
      options.requestTimeoutMs === undefined
        ? clientOptions
        : { ...clientOptions, requestTimeoutMs: options.requestTimeoutMs },
    );
    this.rooms = new MatrixRooms(this.#clients, this.botMxid);
    this.identities = new MatrixIdentities({
      serverName: endpoint.serverName,
      users: options.users,
      clients: this.#clients,
      clock: options.clock,
    });
    this.#provisioning = new MatrixProvisioning({
      clients: this.#clients,
      rooms: this.rooms,
      identities: this.identities,
      users: options.users,
      events: options.events,
      models: options.models,
      logger,
    });
    this.transactions = new AppserviceTransactions({
      models: options.models,
      clock: options.clock,
      logger,
      ...(options.txnLeaseMs === undefined ? {} : { txnLeaseMs: options.txnLeaseMs }),
    });
    this.reconciled = this.#provisioning.reconcile().catch((err: unknown) => {
      logger.warn({ err: describe(err) }, 'start-up reconciliation with Matrix failed; will retry lazily');
    });
  }

  static async create(options: MatrixBridgeOptions): Promise<MatrixBridge> {
    routeSdkLogs(options.logger.child({ part: 'matrix-js-sdk' }));
    await AppserviceTransactions.prune(options.models, options.clock);
    return new MatrixBridge(options);
  }

  /**
   * Where inbound room events go: the ChatService (directory chats) and the MeetingChat (in-call chats). Each
   * handler gets every event of a transaction and ignores the rooms that are not its own.
   */
  onEvents(handler: InboundHandler): void {
    this.transactions.onEvents(handler);
  }

  /** Where typing notifications and read receipts go (the ChatService); each ignores rooms not its own. */
  onEphemeral(handler: EphemeralHandler): void {
    this.transactions.onEphemeral(handler);
  }

  close(): void {
    this.#provisioning.close();
    this.#clients.close();
  }

  /** The homeserver's name, the part after the colon of every mxid and alias. */
  get serverName(): string {
    return this.#o.endpoint.serverName;
  }

  /** The directory user's Matrix account, provisioned when needed; see MatrixProvisioning.ensureUser. */
  ensureUser(user: PublicUser, force = false): Promise<string> {
    return this.#provisioning.ensureUser(user, force);
  }

  /** Every active user provisioned and every disabled one retired. */
  reconcile(): Promise<void> {
    return this.#provisioning.reconcile();
  }

  identify(mxids: string[]): Promise<Map<string, ChatMemberView>> {
    return this.identities.identify(mxids);
  }

  download(
    mxid: string,
    media: { serverName: string; mediaId: string },
    options: { thumbnail: boolean; signal?: AbortSignal },
  ): Promise<MediaDownload> {
    return this.#clients.download(mxid, media, options);
  }

  /** See MatrixClients.pingHomeserver: also flushes the transactions Synapse kept while we were away. */
  pingHomeserver(): Promise<void> {
    return this.#clients.pingHomeserver();
  }

  router(body: { limitBytes: number; maxDepth: number }): Router {
    return appserviceRouter({
      hsToken: this.#o.endpoint.hsToken,
      transactions: this.transactions,
      identities: this.identities,
      users: this.#o.users,
      ensureUser: (user) => this.ensureUser(user),
      logger: this.#o.logger,
      body,
    });
  }
}
