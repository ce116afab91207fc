import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WorkerPool } from '../sfu/WorkerPool.js';
import { chatModels } from './chat/chatModels.js';
import { chatRouter } from './chat/chatRouter.js';
import { ChatService } from './chat/ChatService.js';
import { checkHomeserver } from './chat/matrix/homeserverHealth.js';
import { MatrixBridge } from './chat/matrix/MatrixBridge.js';
import { MeetingChat } from './chat/MeetingChat.js';
import { MessageRateLimit } from './chat/MessageRateLimit.js';
import type { Config } from './config.js';
import type { Database } from './db/Database.js';
import { bodyParsers } from './http/bodyParsers.js';
import { createApp } from './http/createApp.js';
import { createMetrics } from './http/metrics.js';
import type { ReadinessProbe } from './http/readiness.js';
import type { Logger } from './logger.js';
import { NodeRegistry } from './redis/NodeRegistry.js';
import { RedisLock } from './redis/RedisLock.js';
import type { RedisClients } from './redis/RedisClients.js';
import { SessionWatch } from './signaling/SessionWatch.js';
import { SignalingServer } from './signaling/SignalingServer.js';
import type { MatrixEndpoint } from './chat/matrix/appservice.js';
import type { TurnSettings } from './stack/EmbeddedStack.js';
import { VERSION } from './version.js';
import path from 'node:path';
import { authenticate, resolveAuth } from './auth/authMiddleware.js';
import { authRouter } from './auth/authRouter.js';
import { AuthService } from './auth/AuthService.js';
import { loadOrCreateSecret } from './util/secrets.js';
import { ClusterEvents } from './signaling/ClusterEvents.js';
import { RateLimits } from './util/RateLimits.js';
import { TokenService } from './auth/TokenService.js';
import { systemClock, type Clock } from './clock.js';
import { categoryModel } from './contacts/Category.js';
import { CategoryService } from './contacts/CategoryService.js';
import { contactImageModel, contactModel, speedDialModel } from './contacts/Contact.js';
import { ContactImport } from './contacts/ContactImport.js';
import { ContactService } from './contacts/ContactService.js';
import { categoriesRouter, contactsRouter, phoneSearchRouter } from './contacts/contactsRouter.js';
import { PhoneSearch } from './contacts/PhoneSearch.js';
import { DirectoryEvents } from './directory/DirectoryEvents.js';
import { NumberPlan } from './directory/NumberPlan.js';
import { DirectoryService } from './directory/DirectoryService.js';
import { directoryRouter } from './directory/directoryRouter.js';
import { meRouter } from './directory/meRouter.js';
import { userModel } from './directory/User.js';
import { Mailer } from './mail/Mailer.js';
import { AdmissionGate } from './meetings/AdmissionGate.js';
import { DialInPins } from './meetings/DialInPins.js';
import { dialInExtensionTaken } from './meetings/errors.js';
import { MediaRooms } from './meetings/MediaRooms.js';
import { turnIceServers } from './meetings/turnCredentials.js';
import { meetingModel } from './meetings/Meeting.js';
import { mediaFollowsGate } from './meetings/mediaFollowsGate.js';
import { MeetingService } from './meetings/MeetingService.js';
import { guestRouter, meetingsRouter } from './meetings/meetingsRouter.js';
import { Presence } from './presence/Presence.js';
import { presenceRouter } from './presence/presenceRouter.js';
import type { KamailioEndpoint } from './stack/KamailioService.js';
import { callQueueModel, queueHolder } from './telephony/CallQueue.js';
import { Telephony } from './telephony/Telephony.js';
import { KeyedSerial } from './util/KeyedSerial.js';

export interface UccServerDependencies {
  config: Config;
  logger: Logger;
  db: Database;
  pool: WorkerPool;
  matrix: MatrixEndpoint;
  /** TURN for clients; undefined when off. */
  turn?: TurnSettings | undefined;
  clock?: Clock;
  /** The phone edge (the embedded Kamailio); without it the call APIs answer 503. */
  kamailio?: KamailioEndpoint | undefined;
  /** Shared with the other server nodes (socket.io's adapter); given, it outlives the server. */
  redis?: RedisClients | undefined;
  /** More /readyz checks, such as one per child of the embedded stack. */
  probes?: readonly ReadinessProbe[];
  /** Given the Matrix bridge once made: tests wait on its handled transactions instead of sleeping. */
  onChatBridge?: (bridge: MatrixBridge) => void;
}

const PROBE_TIMEOUT_MS = 3_000;

/**
 * The HTTP + socket.io front of the product. It owns its HTTP server and signaling; the database, the worker
 * pool and the homeserver are given to it and outlive it.
 */
export class UccServer {
  readonly #http: HttpServer;
  readonly #signaling: SignalingServer;
  #closed: Promise<void> | undefined;

  readonly #closeServices: () => Promise<void>;

  private constructor(http: HttpServer, signaling: SignalingServer, closeServices: () => Promise<void>) {
    this.#http = http;
    this.#signaling = signaling;
    this.#closeServices = closeServices;
  }

  static async create(deps: UccServerDependencies): Promise<UccServer> {
    const { config, logger, db, pool, matrix } = deps;
    const probes: ReadinessProbe[] = [
      { name: 'database', check: () => db.ping() },
      { name: 'matrix', check: () => checkHomeserver(matrix, PROBE_TIMEOUT_MS) },
      {
        name: 'mediasoup',
        check: async () => {
          const usages = await pool.resourceUsage();
          if (usages.length < config.mediasoup.numWorkers) {
            throw new Error(`${usages.length} of ${config.mediasoup.numWorkers} workers alive`);
          }
        },
      },
      ...(deps.probes ?? []),
    ];
    const { redis } = deps;
    // The embedded redis-server has its own probe under this name; an external one is probed here.
    if (redis && !probes.some((p) => p.name === 'redis'))
      probes.push({ name: 'redis', check: () => redis.ping() });
    const clock = deps.clock ?? systemClock;
    // With Redis every node counts in the same buckets: a limit is the site's, not one process's.
    const counters = redis ? RateLimits.onRedis(redis.pub, logger) : RateLimits.inMemory();
    const users = userModel(db.connection);
    await users.init();
    const events = new DirectoryEvents(logger.child({ component: 'directory' }));
    // Every write to a user document goes through this per-user queue (see docs/architecture.md, FerretDB).
    const userWrites = new KeyedSerial();
    // Users' extensions and call queues' numbers: one plan (the telephony registers the queues in it).
    const numbers = new NumberPlan(users);
    // The queues' holder is the one Telephony registers again later: it is needed now, for the check below.
    numbers.register('queue', queueHolder(callQueueModel(db.connection)));
    numbers.register('dialIn', DialInPins.numberHolder(config.dialIn.extension));
    // Before anything is started: a user or queue already on the dial-in extension stops the start, naming it.
    const dialInHeld = await numbers.heldByOther(config.dialIn.extension, 'dialIn');
    if (dialInHeld) throw dialInExtensionTaken(config.dialIn.extension, dialInHeld);
    const directory = new DirectoryService({
      users,
      userWrites,
      events,
      numbers,
      logger,
    });
    await directory.init();
    const tokens = new TokenService({
      secret: config.auth.jwtSecret ?? (await loadOrCreateSecret(path.join(config.dataDir, 'jwt.secret'))),
      accessTtlMs: config.auth.accessTtlMs,
      guestTtlMs: config.auth.guestTtlMs,
      clock,
    });
    const mailer = new Mailer(config.mail, logger);
    const auth = await AuthService.create({
      connection: db.connection,
      users,
      userWrites,
      events,
      tokens,
      mailer,
      clock,
      publicUrl: config.http.publicUrl,
      refreshTtlMs: config.auth.refreshTtlMs,
      refreshGraceMs: config.auth.refreshGraceMs,
      resetTtlMs: config.auth.resetTtlMs,
      logger,
    });
    const meetingModelOfDb = meetingModel(db.connection);
    await meetingModelOfDb.init();
    const meetingWrites = new KeyedSerial();
    const pins = await DialInPins.create({
      connection: db.connection,
      meetings: meetingModelOfDb,
      users,
      writes: meetingWrites,
      clock,
      limits: config.dialIn,
      counters,
      logger,
    });
    // This node's id on the meeting records it makes; with Redis, its heartbeat there (the other nodes' view of it).
    const nodes = await NodeRegistry.create({
      redis: redis?.pub,
      heartbeatMs: config.cluster.heartbeatMs,
      ttlMs: config.cluster.nodeTtlMs,
      logger,
    });
    const gate = new AdmissionGate({
      nodes,
      writes: meetingWrites,
      meetings: meetingModelOfDb,
      users,
      clock,
      rejoinGraceMs: config.rejoinGraceMs,
      limits: config.meetings,
      logger,
    });
    const meetings = new MeetingService({
      writes: meetingWrites,
      // Through the other nodes too: the meeting's sockets may be on another one (ClusterEvents, below).
      sessions: {
        meetingCancelled: (id) => cluster.meetingChanged(id, 'cancelled'),
        guestLinkRotated: (id) => cluster.meetingChanged(id, 'linkRotated'),
      },
      meetings: meetingModelOfDb,
      users,
      tokens,
      mailer,
      clock,
      publicUrl: config.http.publicUrl,
      pins,
      dialInExtension: config.dialIn.extension,
      logger,
    });
    await gate.recover();
    const media = new MediaRooms({
      pool,
      consumerThreshold: config.mediasoup.consumerThreshold,
      limits: { maxTransports: config.mediasoup.maxTransportsPerParticipant },
      logger,
      iceServers: (participantId) => turnIceServers(deps.turn, participantId, clock.now()),
    });
    mediaFollowsGate(gate, media, logger);
    const chatLogger = logger.child({ component: 'chat' });
    const chatDb = await chatModels(db.connection);
    const bridge = await MatrixBridge.create({
      endpoint: matrix,
      users,
      events,
      models: chatDb,
      clock,
      logger: chatLogger,
      txnLeaseMs: config.chat.txnLeaseMs,
    });
    deps.onChatBridge?.(bridge);
    const chatRateLimit = MessageRateLimit.create(counters, config.chat.rateLimit);
    const chat = new ChatService({
      bridge,
      models: chatDb,
      users,
      rateLimit: chatRateLimit,
      clock,
      logger: chatLogger,
      nodeLock: redis ? new RedisLock({ redis: redis.pub, logger: chatLogger }) : undefined,
    });
    const meetingChat = new MeetingChat({
      bridge,
      models: chatDb,
      users,
      meetings: meetingModelOfDb,
      rateLimit: chatRateLimit,
      logger: chatLogger,
    });
    const contactsLogger = logger.child({ component: 'contacts' });
    const contactDocs = contactModel(db.connection);
    const categories = await CategoryService.create({
      categories: categoryModel(db.connection),
      contacts: contactDocs,
      users,
      events,
      logger: contactsLogger,
    });
    const contacts = await ContactService.create({
      contacts: contactDocs,
      images: contactImageModel(db.connection),
      speedDials: speedDialModel(db.connection),
      categories,
      events,
      defaultCountry: config.contacts.defaultCountry,
      maxImageBytes: config.contacts.imageMaxBytes,
      logger: contactsLogger,
    });
    const contactImport = new ContactImport({ contacts, categories, logger: contactsLogger });
    const phoneSearch = new PhoneSearch({
      users,
      contacts: contactDocs,
      categories,
      defaultCountry: config.contacts.defaultCountry,
    });
    const telephony = await Telephony.create({
      kamailio: deps.kamailio,
      connection: db.connection,
      users,
      directoryEvents: events,
      numbers,
      clock,
      logger,
      reconnectGraceMs: config.webPhone.reconnectGraceMs,
    });
    probes.push(...telephony.probes());
    const presence = await Presence.create({
      pbx: telephony.pbx,
      users,
      directoryEvents: events,
      gate,
      // Participants join through sockets, which exist only once signaling (below) is up.
      userOfSocket: (socketId) => signaling.userOfSocket(socketId),
      logger,
    });
    // Scraped only once the server listens, when `signaling` (below) exists.
    const metrics = createMetrics(pool, { connected: () => signaling.io.of('/').sockets.size });
    const body = bodyParsers(config.http.body, metrics);
    const app = createApp({
      logger,
      metrics,
      probes,
      probeTimeoutMs: PROBE_TIMEOUT_MS,
      publicUrl: config.http.publicUrl,
      metricsToken: config.http.metricsToken,
      // A logged-out access token stops at once, not at its expiry up to 15 minutes later.
      authenticate: authenticate({ tokens, users, sessions: auth }),
      routers: [
        { path: '/auth', router: authRouter(auth, config, body, counters) },
        { path: '/me', router: meRouter(users, userWrites, body) },
        { path: '/directory', router: directoryRouter(directory, body) },
        { path: '/meetings', router: meetingsRouter(meetings, body) },
        { path: '/guest', router: guestRouter(meetings, config, body, counters) },
        { path: '/chat', router: chatRouter(chat, { maxUploadBytes: config.chat.maxUploadBytes, body }) },
        {
          path: '/contacts',
          router: contactsRouter({
            contacts,
            imports: contactImport,
            body,
            importMaxBytes: config.contacts.importMaxBytes,
            imageMaxBytes: config.contacts.imageMaxBytes,
          }),
        },
        { path: '/categories', router: categoriesRouter(categories, body) },
        { path: '/search', router: phoneSearchRouter(phoneSearch) },
        ...telephony.routers(body),
        { path: '/presence', router: presenceRouter(presence) },
      ],
      rootRouters: [bridge.router(config.http.appserviceBody)],
    });
    const http = createServer(app);
    // SIP over WebSocket for the web phone (its own path); socket.io takes the other upgrades.
    http.on('upgrade', (req, socket, head) => telephony.handleUpgrade(req, socket, head));
    // Sockets live longer than a request: their tokens are also checked against ended sessions.
    const authenticateSocket = (token: string): ReturnType<typeof resolveAuth> =>
      resolveAuth(token, { tokens, users, sessions: auth });
    const sessions = new SessionWatch({
      clock,
      logger,
      authenticate: authenticateSocket,
      leaveMeeting: (socketId) => gate.leave(socketId),
    });
    const signaling = new SignalingServer(http, {
      logger,
      version: VERSION,
      authenticate: authenticateSocket,
      sessions,
      gate,
      media,
      chat,
      meetingChat,
      limits: config.signaling,
      clock,
      redis,
    });
    const cluster = new ClusterEvents({
      io: signaling.io,
      clustered: redis !== undefined,
      logger,
      endSessions: (target, reason) => sessions.endSessions(target, reason),
      applyMeetingChange: (id, change) =>
        change === 'cancelled' ? gate.meetingCancelled(id) : gate.guestLinkRotated(id),
      holdsMeeting: (id) => gate.holds(id),
      typingElsewhere: (change) => chat.typingElsewhere(change),
      seatElsewhere: (change) => presence.seatElsewhere(change),
      ownSeats: () => presence.ownSeats(),
    });
    presence.on('seat', (change) => cluster.presenceSeat(change));
    chat.events.on('typingRecorded', (roomId, mxid, typing) => cluster.typingRecorded(roomId, mxid, typing));
    chat.events.on('typingPushed', (roomId, mxids) => cluster.typingPushed(roomId, mxids));
    auth.on('sessions.ended', (target, reason) => cluster.sessionsEnded(target, reason));
    // The chat's events reach the sockets; nothing arrives before the HTTP server below listens.
    chat.events.on('message', (userIds, message) => signaling.emitToUsers(userIds, 'chat.message', message));
    chat.events.on('room', (userIds, payload) => signaling.emitToUsers(userIds, 'chat.room', payload));
    chat.events.on('typing', (userIds, payload) => signaling.emitToUsers(userIds, 'chat.typing', payload));
    chat.events.on('read', (userIds, payload) => signaling.emitToUsers(userIds, 'chat.read', payload));
    meetingChat.events.on('message', (meetingId, message) => signaling.emitToMeeting(meetingId, message));
    telephony.callLog.on('changed', (userIds, reason) =>
      signaling.emitToUsers(userIds, 'calls.changed', { reason }),
    );
    // Every node knows every seat and the PBX's events, so each tells its own sockets (see ClusterEvents).
    presence.on('changed', (view) => signaling.emitToAllLocalUsers('presence.changed', view));
    for (const event of ['meeting.invited', 'meeting.updated', 'meeting.cancelled'] as const) {
      meetings.on(event, (userIds, meetingId) => signaling.notifyUsers(userIds, event, meetingId));
    }
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(config.http.port, config.http.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    // Who is in a meeting on the other nodes, for presence; not waited for (changes arrive meanwhile anyway).
    void cluster.learnSeats();
    // Only now can the homeserver reach us; a failure (it is down, or cannot reach our URL) is not fatal.
    await bridge
      .pingHomeserver()
      .catch((err: unknown) => chatLogger.warn({ err }, 'the homeserver did not ping the appservice'));
    return new UccServer(http, signaling, async () => {
      bridge.close();
      contacts.close();
      categories.close();
      presence.close();
      telephony.close();
      await Promise.all([gate.close(), media.close(), sessions.close(), auth.close(), mailer.close()]);
      // Last: from here on the other nodes take this one's meeting records for orphans.
      await nodes.close();
    });
  }

  get port(): number {
    return (this.#http.address() as AddressInfo).port;
  }

  /** Idempotent; closes sockets, then the HTTP server. */
  async close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#closeServices();
      await this.#signaling.close();
      this.#http.closeAllConnections();
      if (this.#http.listening) {
        await new Promise<void>((resolve) => this.#http.close(() => resolve()));
      }
    })();
    await this.#closed;
  }
}
