/**
 * The one reader of the environment. Everything the server needs from outside is parsed and validated here,
 * once, and handed on as a typed object; no other module touches `process.env`. It is long because it is the
 * only place allowed to read the environment: every setting of every module (schema, type, defaults) is here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { CountryCode } from 'libphonenumber-js';
import { isCountryCode } from './contacts/phoneNumbers.js';
import type { BodyLimits } from './http/bodyParsers.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Written by scripts/bootstrap: where the locally built or installed service binaries are. */
export const STACK_MANIFEST_PATH = path.join(REPO_ROOT, '.ucc', 'stack.json');

const stackManifestSchema = z.object({
  mediasoupWorkerBin: z.string(),
  ferretdbBin: z.string(),
  synapsePython: z.string(),
  turnserverBin: z.string().optional(),
  chromiumBin: z.string().optional(),
  kamailioBin: z.string().optional(),
  rtpengineBin: z.string().optional(),
  redisServerBin: z.string().optional(),
});

export type StackManifest = z.infer<typeof stackManifestSchema>;

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly issues: { variable: string; message: string }[],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const WORKER_LOG_LEVELS = ['debug', 'warn', 'error', 'none'] as const;

const port = z.coerce.number().int().min(0).max(65535);
const KIB = 1024;
const MIB = 1024 * KIB;
const bodyBytes = (max: number) => z.coerce.number().int().min(1024).max(max);
const positiveMs = z.coerce.number().int().min(1).max(3_600_000);
const optionalString = z
  .string()
  .trim()
  .transform((s) => (s === '' ? undefined : s))
  .optional();

/** Raw environment schema: one key per variable, so that a failure names the variable. */
const envSchema = z.object({
  PORT: port.default(3000),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  UCC_METRICS_TOKEN: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  UCC_HTTP_PUBLIC_JSON_MAX_BYTES: bodyBytes(1 * MIB).default(8 * KIB),
  UCC_HTTP_JSON_MAX_BYTES: bodyBytes(16 * MIB).default(256 * KIB),
  UCC_HTTP_BULK_MAX_BYTES: bodyBytes(64 * MIB).default(8 * MIB),
  UCC_HTTP_JSON_MAX_DEPTH: z.coerce.number().int().min(4).max(1000).default(32),
  UCC_APPSERVICE_MAX_BODY_BYTES: bodyBytes(100 * MIB).default(20 * MIB),
  UCC_APPSERVICE_JSON_MAX_DEPTH: z.coerce.number().int().min(4).max(5000).default(1000),
  UCC_DATA_DIR: z.string().trim().min(1).default('./data'),
  UCC_SHUTDOWN_TIMEOUT_MS: positiveMs.default(10_000),
  UCC_STACK_START_TIMEOUT_MS: positiveMs.default(180_000),
  UCC_RESTART_INITIAL_DELAY_MS: positiveMs.default(500),
  UCC_RESTART_MAX_DELAY_MS: positiveMs.default(30_000),
  UCC_RESTART_STABLE_AFTER_MS: positiveMs.default(60_000),
  UCC_DB_SERVER_SELECTION_TIMEOUT_MS: positiveMs.default(1_000),
  UCC_DB_SOCKET_TIMEOUT_MS: positiveMs.default(10_000),

  MONGODB_URI: optionalString.pipe(
    z
      .string()
      .regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// URI')
      .optional(),
  ),

  MATRIX_HOMESERVER_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  MATRIX_SERVER_NAME: z
    .string()
    .trim()
    .regex(/^[a-z0-9.-]+(:\d+)?$/i, 'must be a Matrix server name such as example.org')
    .default('ucc.localhost'),
  MATRIX_AS_TOKEN: optionalString,
  MATRIX_HS_TOKEN: optionalString,
  MATRIX_BRIDGE_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),

  MEDIASOUP_WORKER_BIN: optionalString,
  MEDIASOUP_NUM_WORKERS: z.coerce.number().int().min(1).max(64).optional(),
  MEDIASOUP_LISTEN_IP: z.union([z.ipv4(), z.ipv6()]).default('127.0.0.1'),
  MEDIASOUP_ANNOUNCED_IP: optionalString,
  MEDIASOUP_WEBRTC_PORT: port.default(0),
  MEDIASOUP_LOG_LEVEL: z.enum(WORKER_LOG_LEVELS).default('warn'),
  MEDIASOUP_CONSUMER_THRESHOLD: z.coerce.number().int().min(1).max(5_000).default(400),
  UCC_MEDIA_MAX_TRANSPORTS: z.coerce.number().int().min(2).max(64).default(4),

  UCC_SOCKET_MAX_MESSAGE_BYTES: z.coerce
    .number()
    .int()
    .min(16 * 1024)
    .max(10 * 1024 * 1024)
    .default(256 * 1024),
  UCC_SOCKET_REQUESTS_PER_SECOND: z.coerce.number().min(1).max(10_000).default(50),
  UCC_SOCKET_REQUEST_BURST: z.coerce.number().int().min(1).max(100_000).default(200),
  UCC_SOCKET_DISCONNECT_AFTER_REFUSED: z.coerce.number().int().min(1).max(1_000_000).default(200),
  UCC_SOCKET_MAX_PAYLOAD_DEPTH: z.coerce.number().int().min(4).max(64).default(10),
  UCC_SOCKET_MAX_PAYLOAD_NODES: z.coerce.number().int().min(100).max(1_000_000).default(2_000),

  UCC_ADMIN_EXTENSION: optionalString.pipe(
    z
      .string()
      .regex(/^\d{2,10}$/, 'must be 2-10 digits')
      .optional(),
  ),
  UCC_ADMIN_PASSWORD: optionalString.pipe(z.string().min(8, 'must be at least 8 characters').optional()),
  UCC_DEMO_PASSWORD: optionalString.pipe(z.string().min(6, 'must be at least 6 characters').optional()),
  /** The demo users 200-205 on a new database: on for a trial (`npm start`), off for a deployment. */
  UCC_DEMO_DIRECTORY: z.enum(['on', 'off'], 'must be on or off').default('on'),

  UCC_JWT_SECRET: optionalString.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
  UCC_ACCESS_TOKEN_TTL_MS: positiveMs.default(15 * 60_000),
  UCC_REFRESH_TOKEN_TTL_MS: z.coerce
    .number()
    .int()
    .min(60_000)
    .default(30 * 24 * 3_600_000),
  UCC_GUEST_TOKEN_TTL_MS: z.coerce
    .number()
    .int()
    .min(60_000)
    .default(12 * 3_600_000),
  UCC_RESET_TOKEN_TTL_MS: positiveMs.default(30 * 60_000),
  UCC_REFRESH_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(20_000),

  UCC_REJOIN_GRACE_MS: positiveMs.default(120_000),
  UCC_MEETING_MAX_PARTICIPANTS: z.coerce.number().int().min(2).max(10_000).default(100),
  UCC_MEETING_MAX_WAITING: z.coerce.number().int().min(1).max(10_000).default(100),
  UCC_MEETING_MAX_DENYLIST: z.coerce.number().int().min(1).max(100_000).default(500),
  UCC_MEETING_MAX_PARTICIPANT_RECORDS: z.coerce.number().int().min(2).max(100_000).default(500),
  /** The extension callers ring to join a meeting by phone; no user or call queue may have it. */
  UCC_DIALIN_EXTENSION: optionalString.pipe(
    z
      .string()
      .regex(/^\d{2,10}$/, 'must be 2 to 10 digits (an extension such as 8000)')
      .default('8000'),
  ),
  UCC_GUEST_BROWSER_TTL_MS: z.coerce
    .number()
    .int()
    .min(60_000)
    .default(30 * 24 * 3_600_000),

  TURN_URLS: optionalString,
  TURN_SECRET: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  TURN_CREDENTIAL_TTL_MS: positiveMs.default(3_600_000),
  UCC_TURN: z.enum(['embedded', 'off']).default('embedded'),
  /** Live state shared by server nodes: an external Redis (REDIS_URL), the embedded redis-server, or none. */
  UCC_REDIS: z.enum(['embedded', 'off']).default('embedded'),
  REDIS_URL: optionalString.pipe(
    z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .optional(),
  ),
  /** How often a node tells Redis it is alive, and after how long without that the others take it for dead. */
  UCC_NODE_HEARTBEAT_MS: positiveMs.default(2_000),
  UCC_NODE_TTL_MS: positiveMs.default(10_000),

  UCC_CONTACTS_IMPORT_MAX_BYTES: bodyBytes(64 * MIB).default(5 * MIB),
  UCC_CONTACTS_IMAGE_MAX_BYTES: bodyBytes(32 * MIB).default(5 * MIB),
  /** The country of numbers typed without a prefix ("342 749 3700" is +39 in Italy): ISO 3166 alpha-2. */
  UCC_CONTACTS_DEFAULT_COUNTRY: z
    .string()
    .trim()
    .toUpperCase()
    .refine(isCountryCode, 'must be a country code such as IT')
    .default('IT'),
  /** Unset: external when UCC_KAMAILIO_RPC_URL is set, embedded otherwise. */
  UCC_TELEPHONY: optionalString.pipe(z.enum(['embedded', 'external', 'off']).optional()),
  /** The customer's Kamailio edge (UCC_TELEPHONY=external): its JSON-RPC, evapi, SIP and SIP-over-WebSocket. */
  UCC_KAMAILIO_RPC_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  UCC_KAMAILIO_RPC_TOKEN: optionalString.pipe(
    z.string().min(16, 'must be at least 16 characters').optional(),
  ),
  UCC_KAMAILIO_EVAPI: optionalString.pipe(
    z
      .string()
      .regex(/^[a-z0-9.-]+:\d{1,5}$/i, 'must be host:port, such as pbx.example.org:8448')
      .optional(),
  ),
  UCC_KAMAILIO_SIP_URI: optionalString.pipe(
    z
      .string()
      .regex(/^sip:[a-z0-9.-]+(:\d{1,5})?$/i, 'must be a SIP URI such as sip:pbx.example.org:5060')
      .optional(),
  ),
  UCC_SIP_WS_URL: optionalString.pipe(z.url({ protocol: /^wss?$/ }).optional()),
  /** A private CA (PEM) for a `wss://` UCC_SIP_WS_URL, besides the system's. */
  UCC_SIP_WS_CA_FILE: optionalString,
  UCC_SIP_DOMAIN: optionalString.pipe(
    z
      .string()
      .regex(/^[a-z0-9.-]+$/i, 'must be a domain name such as pbx.example.org')
      .optional(),
  ),
  UCC_RTP_PORT_MIN: port.default(0),
  UCC_RTP_PORT_MAX: port.default(0),
  UCC_SIP_NO_ANSWER_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  UCC_WEB_PHONE_RECONNECT_GRACE_MS: z.coerce.number().int().min(1_000).max(300_000).default(20_000),
  /** Where Kamailio sends calls to external numbers (`sip:host:port`); unset: external numbers cannot be called. */
  UCC_SIP_TRUNK_URI: optionalString.pipe(
    z
      .string()
      .regex(/^sip:[a-z0-9.-]+(:\d{1,5})?$/i, 'must be a SIP URI such as sip:trunk.example.org:5060')
      .optional(),
  ),
  /** Digits put before every external number sent to the trunk ("0" for an outside line); empty by default. */
  UCC_SIP_OUTBOUND_PREFIX: z
    .string()
    .trim()
    .regex(/^\d{0,4}$/, 'must be up to 4 digits')
    .default(''),
  /** Digest credentials for a trunk that challenges (401/407); both or neither. The password is never logged. */
  UCC_SIP_TRUNK_USERNAME: optionalString.pipe(
    z
      .string()
      .regex(/^[^\s"\\]{1,128}$/, 'must be 1 to 128 characters, no spaces, quotes or backslashes')
      .optional(),
  ),
  UCC_SIP_TRUNK_PASSWORD: optionalString.pipe(
    z
      .string()
      .regex(/^[^\s"\\]{1,128}$/, 'must be 1 to 128 characters, no spaces, quotes or backslashes')
      .optional(),
  ),
  /** Incoming calls: the company number in E.164 whose last digits are the extension ("+390391234" + "200"). */
  UCC_SIP_TRUNK_DID_PREFIX: optionalString.pipe(
    z
      .string()
      .regex(/^\+[1-9]\d{3,13}$/, 'must be a number in E.164 such as +390391234')
      .optional(),
  ),
  /** The extension the bare company number (UCC_SIP_TRUNK_DID_PREFIX alone) rings; unset: refused. */
  UCC_SIP_TRUNK_DID_OPERATOR: optionalString.pipe(
    z
      .string()
      .regex(/^\d{2,6}$/, 'must be an extension such as 200')
      .optional(),
  ),

  UCC_CHAT_MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(50 * 1024 * 1024)
    .default(20 * 1024 * 1024),
  UCC_CHAT_RATE_LIMIT_MESSAGES: z.coerce.number().int().min(1).default(30),
  UCC_CHAT_RATE_LIMIT_WINDOW_MS: positiveMs.default(10_000),
  UCC_CHAT_TXN_LEASE_MS: positiveMs.default(60_000),

  SMTP_URL: optionalString.pipe(z.url({ protocol: /^smtps?$/ }).optional()),
  MAIL_FROM: z.string().trim().min(3).default('OpiVoice UCC <no-reply@localhost>'),

  UCC_RATE_LIMIT_WINDOW_MS: positiveMs.default(15 * 60_000),
  UCC_RATE_LIMIT_LOGIN_PER_IP: z.coerce.number().int().min(1).default(100),
  UCC_RATE_LIMIT_LOGIN_PER_EXTENSION_IP: z.coerce.number().int().min(1).default(10),
  UCC_RATE_LIMIT_LOGIN_PER_EXTENSION: z.coerce.number().int().min(1).default(100),
  // At most 20 days: the in-memory limiter keeps each entry on a timer, and Node's timers stop at ~24.8 days.
  UCC_RATE_LIMIT_LOGIN_KNOWN_IP_TTL_MS: z.coerce
    .number()
    .int()
    .min(60_000)
    .max(20 * 24 * 3_600_000)
    .default(7 * 24 * 3_600_000),
  UCC_RATE_LIMIT_RECOVER_PER_IP: z.coerce.number().int().min(1).default(20),
  UCC_RATE_LIMIT_RECOVER_PER_EXTENSION: z.coerce.number().int().min(1).default(5),
  UCC_RATE_LIMIT_GUEST_JOIN_PER_IP_LINK: z.coerce.number().int().min(1).default(20),
  UCC_RATE_LIMIT_DIALIN_PER_CALLER: z.coerce.number().int().min(1).default(10),
  UCC_RATE_LIMIT_DIALIN_GLOBAL: z.coerce.number().int().min(1).default(200),
});

export interface Config {
  http: {
    port: number;
    host: string;
    publicUrl: string;
    /** When set, /metrics needs `Authorization: Bearer <metricsToken>`. */
    metricsToken: string | undefined;
    /** REST bodies: each route reads only its own type, after its authorization, up to its limit. */
    body: BodyLimits;
    /**
     * Synapse's transactions, read after the hs_token check. Synapse's own JSON cannot nest past Python's
     * recursion limit (~1000), and refusing a transaction would make it retry that one forever.
     */
    appserviceBody: { limitBytes: number; maxDepth: number };
  };
  logLevel: (typeof LOG_LEVELS)[number];
  dataDir: string;
  shutdownTimeoutMs: number;
  stackStartTimeoutMs: number;
  /** How a crashed child of the embedded stack is restarted: exponential backoff, capped, reset when stable. */
  restart: { initialDelayMs: number; maxDelayMs: number; stableAfterMs: number };
  /**
   * How long a database call waits for a reachable server, and for an answer on its socket, before it fails
   * (as 503 SERVICE_UNAVAILABLE): an outage answers fast instead of hanging requests.
   */
  db: { serverSelectionTimeoutMs: number; socketTimeoutMs: number };
  /** Set when an external MongoDB is used; otherwise the embedded FerretDB is started. */
  mongodbUri: string | undefined;
  matrix:
    | { mode: 'external'; homeserverUrl: string; serverName: string; asToken: string; hsToken: string }
    | { mode: 'embedded'; serverName: string; bridgeUrl: string };
  mediasoup: {
    workerBin: string;
    numWorkers: number;
    listenIp: string;
    announcedAddress: string | undefined;
    /** 0 lets each WebRtcServer take a free port; otherwise worker i listens on port + i. */
    webRtcPort: number;
    logLevel: (typeof WORKER_LOG_LEVELS)[number];
    /** Consumers on one router before newcomers go to a router on another worker. */
    consumerThreshold: number;
    /** WebRtcTransports (send + recv) one participant may hold at once; more is LIMIT_EXCEEDED. */
    maxTransportsPerParticipant: number;
  };
  /** Bounds on each socket connection: message size, request rate, payload shape. */
  signaling: {
    /** socket.io's maxHttpBufferSize: a larger message closes the connection. */
    maxMessageBytes: number;
    /** Token bucket per connection: sustained requests per second and the burst on top. */
    requestsPerSecond: number;
    requestBurst: number;
    /** Refused requests piled up past the rate before the connection is dropped as hammering. */
    disconnectAfterRefused: number;
    maxPayloadDepth: number;
    maxPayloadNodes: number;
  };
  admin: { extension: string; password: string } | undefined;
  /** Whether a new database gets the demo users (UCC_DEMO_DIRECTORY). */
  demoDirectory: boolean;
  demoPassword: string | undefined;
  auth: {
    /** When unset, a secret is generated once and kept in the data dir. */
    jwtSecret: string | undefined;
    accessTtlMs: number;
    refreshTtlMs: number;
    guestTtlMs: number;
    resetTtlMs: number;
    /** A rotated refresh token presented again within this gets the same successor (0: never). */
    refreshGraceMs: number;
  };
  /** How long someone who dropped out of a meeting may come back, even after its end time. */
  rejoinGraceMs: number;
  /** Per-meeting limits; see docs/architecture.md, "Meetings and admission". */
  meetings: {
    /** People in a session at once (connected or reconnecting); the organizer always gets in. */
    maxParticipants: number;
    /** Sockets in one meeting's waiting room at once. */
    maxWaiting: number;
    /** Removed identities remembered per meeting; the oldest go first. */
    maxDenylist: number;
    /** Participant records kept per meeting; records of people long gone are pruned first. */
    maxParticipantRecords: number;
    /** Lifetime of the browser-bound guest cookie that gives a browser the same guest id back. */
    guestBrowserTtlMs: number;
  };
  /** Joining a meeting by phone: the extension to ring, then the meeting's PIN (docs/architecture.md, Meetings). */
  dialIn: {
    /** Reserved in the numbering plan: creating a user or a call queue on it is 409 CONFLICT. */
    extension: string;
    /** Wrong PINs per caller number per window (a right one gives its attempt back); beyond: RATE_LIMITED. */
    attemptsPerCaller: number;
    /** Wrong PINs of all callers together per window: caller numbers are easy to fake, this bound is not. */
    attemptsGlobal: number;
    windowMs: number;
  };
  /** TURN for clients behind restrictive networks: an external coturn, the embedded one, or none. */
  turn:
    | { mode: 'external'; urls: string[]; secret: string; credentialTtlMs: number }
    | { mode: 'embedded'; credentialTtlMs: number }
    | { mode: 'off' };
  /**
   * Redis for what several server nodes share (socket.io's adapter today). Off: one node, everything in memory
   * (also when redis-server is not installed).
   */
  redis: { mode: 'external'; url: string } | { mode: 'embedded'; bin: string } | { mode: 'off' };
  /** Each node's heartbeat in Redis (NodeRegistry): a node silent for `nodeTtlMs` is dead to the others. */
  cluster: { heartbeatMs: number; nodeTtlMs: number };
  chat: {
    /** Chat files above this size are refused with 413 FILE_TOO_LARGE (Synapse itself takes up to 50 MB). */
    maxUploadBytes: number;
    /**
     * Messages (sends, edits, files; REST and the meeting chat) one user or guest may send per window; beyond it,
     * 429 RATE_LIMITED.
     */
    rateLimit: { messages: number; windowMs: number };
    /**
     * How long an appservice transaction claimed by a process that stopped mid-way waits before Synapse's retry
     * takes it over.
     */
    txnLeaseMs: number;
  };
  /** The Rubrica (contacts). */
  contacts: {
    /** Import files above this size are refused with 413 FILE_TOO_LARGE. */
    importMaxBytes: number;
    /** Uploaded contact images above this size are refused with 413 FILE_TOO_LARGE (they are stored resized). */
    imageMaxBytes: number;
    defaultCountry: CountryCode;
  };
  /**
   * The phone edge: the embedded Kamailio + rtpengine on loopback (when installed), a Kamailio edge the customer
   * runs (with our generated config or the same RPC/evapi contract: docs/architecture.md, "Telephony"), or none.
   * Another kind of PBX would be one more PbxAdapter (server/telephony/) and one more mode here.
   */
  telephony:
    | {
        mode: 'embedded';
        /** The SIP domain (digest realm) of every extension. */
        domain: string;
        kamailioBin: string;
        rtpengineBin: string;
        /** 0 and 0: a random window of ports. */
        rtpPortMin: number;
        rtpPortMax: number;
        /** How long a phone rings before the caller gets 408. */
        noAnswerTimeoutMs: number;
        /** `sip:host[:port]` of the trunk for external numbers; undefined: they fail (SIP 503, API 400). */
        trunkUri: string | undefined;
        /** Put before the E.164 number in the request URI sent to the trunk. */
        outboundPrefix: string;
        /** Answers the trunk's digest challenge; undefined: a challenge fails the call. */
        trunkAuth: { username: string; password: string } | undefined;
        /** Incoming calls from the trunk: company number prefix (E.164) + extension. */
        didPrefix: string | undefined;
        /** The extension the bare company number rings. */
        didOperator: string | undefined;
      }
    | {
        mode: 'external';
        domain: string;
        /** Kamailio's JSON-RPC (`xhttp` + `jsonrpcs`), called with `X-Ucc-Rpc-Token: <rpcToken>`. */
        rpcUrl: string;
        rpcToken: string;
        /** evapi's TCP listener: live call and registration events. */
        evapi: { host: string; port: number };
        /** Where desk phones register and where `dlg.bridge_dlg` sends from: `host:port`. */
        sip: { host: string; port: number };
        /** The edge's SIP over WebSocket; browsers reach it through our `/sip` proxy, never directly. */
        wsUrl: string;
        /** A PEM file of the CA that signed a `wss://` edge's certificate, trusted besides the system's. */
        wsCaFile: string | undefined;
        trunkUri: string | undefined;
        outboundPrefix: string;
      }
    | { mode: 'off' };
  webPhone: {
    /**
     * How long a web phone's call survives its WebSocket being gone (a network blip): then the server ends it
     * (BYE to the far side) and the browser, told the same figure, ends it too.
     */
    reconnectGraceMs: number;
  };
  /** Without an SMTP URL no mail is sent (recovery mails are logged as skipped). */
  mail: { smtpUrl: string | undefined; from: string };
  rateLimits: {
    windowMs: number;
    loginPerIp: number;
    /** Failed logins per extension and address: the hard limit. */
    loginPerExtensionAndIp: number;
    /** Failed logins per extension from addresses that have not logged in to it lately. */
    loginPerExtension: number;
    /** How long a successful login exempts its address from the extension's overall limit. */
    loginKnownIpTtlMs: number;
    recoverPerIp: number;
    recoverPerExtension: number;
    /** Guest tokens minted per client IP and guest link, per window. */
    guestJoinPerIpAndLink: number;
  };
  /** Binaries of the embedded stack; undefined until scripts/bootstrap has run. */
  stack: StackManifest | undefined;
}

export function readStackManifest(file = STACK_MANIFEST_PATH): StackManifest | undefined {
  if (!existsSync(file)) return undefined;
  const parsed = stackManifestSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  return parsed.success ? parsed.data : undefined;
}

/**
 * Parses the environment. Throws a ConfigError whose message names every bad variable; the caller decides how
 * to stop.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  manifest: StackManifest | undefined = readStackManifest(),
): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({
      variable: issue.path.map(String).join('.'),
      message: issue.message,
    }));
    throw configError(issues);
  }
  const e = parsed.data;
  const issues: { variable: string; message: string }[] = [];

  if (Boolean(e.UCC_ADMIN_EXTENSION) !== Boolean(e.UCC_ADMIN_PASSWORD)) {
    issues.push({
      variable: e.UCC_ADMIN_EXTENSION ? 'UCC_ADMIN_PASSWORD' : 'UCC_ADMIN_EXTENSION',
      message: 'UCC_ADMIN_EXTENSION and UCC_ADMIN_PASSWORD must be set together',
    });
  }

  let matrix: Config['matrix'];
  if (e.MATRIX_HOMESERVER_URL) {
    if (!e.MATRIX_AS_TOKEN)
      issues.push({ variable: 'MATRIX_AS_TOKEN', message: 'required with MATRIX_HOMESERVER_URL' });
    if (!e.MATRIX_HS_TOKEN)
      issues.push({ variable: 'MATRIX_HS_TOKEN', message: 'required with MATRIX_HOMESERVER_URL' });
    matrix = {
      mode: 'external',
      homeserverUrl: e.MATRIX_HOMESERVER_URL,
      serverName: e.MATRIX_SERVER_NAME,
      asToken: e.MATRIX_AS_TOKEN ?? '',
      hsToken: e.MATRIX_HS_TOKEN ?? '',
    };
  } else {
    // Synapse pushes appservice transactions to us; on the embedded stack that is this process on loopback.
    const bridgeUrl = e.MATRIX_BRIDGE_URL ?? `http://127.0.0.1:${e.PORT}`;
    matrix = { mode: 'embedded', serverName: e.MATRIX_SERVER_NAME, bridgeUrl };
  }

  let turn: Config['turn'];
  if (e.TURN_URLS) {
    const urls = e.TURN_URLS.split(',')
      .map((u) => u.trim())
      .filter((u) => u !== '');
    if (urls.some((u) => !/^turns?:/.test(u))) {
      issues.push({ variable: 'TURN_URLS', message: 'must be comma-separated turn: or turns: URLs' });
    }
    if (!e.TURN_SECRET) issues.push({ variable: 'TURN_SECRET', message: 'required with TURN_URLS' });
    turn = { mode: 'external', urls, secret: e.TURN_SECRET ?? '', credentialTtlMs: e.TURN_CREDENTIAL_TTL_MS };
  } else {
    turn =
      e.UCC_TURN === 'off'
        ? { mode: 'off' }
        : { mode: 'embedded', credentialTtlMs: e.TURN_CREDENTIAL_TTL_MS };
  }

  const redisBin =
    manifest?.redisServerBin || (existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : '');
  const redis: Config['redis'] = e.REDIS_URL
    ? { mode: 'external', url: e.REDIS_URL }
    : e.UCC_REDIS === 'embedded' && redisBin
      ? { mode: 'embedded', bin: redisBin }
      : { mode: 'off' };
  // A node must beat several times within the time the others wait, or a slow beat would make it look dead.
  if (e.UCC_NODE_TTL_MS < 2 * e.UCC_NODE_HEARTBEAT_MS) {
    issues.push({ variable: 'UCC_NODE_TTL_MS', message: 'must be at least twice UCC_NODE_HEARTBEAT_MS' });
  }

  const workerBin = e.MEDIASOUP_WORKER_BIN ?? manifest?.mediasoupWorkerBin;
  if (!workerBin) {
    issues.push({
      variable: 'MEDIASOUP_WORKER_BIN',
      message: 'not set and no worker built yet: run scripts/bootstrap',
    });
  } else if (!existsSync(workerBin)) {
    issues.push({ variable: 'MEDIASOUP_WORKER_BIN', message: `no such file: ${workerBin}` });
  }

  const unspecified = e.MEDIASOUP_LISTEN_IP === '0.0.0.0' || e.MEDIASOUP_LISTEN_IP === '::';
  if (unspecified && !e.MEDIASOUP_ANNOUNCED_IP) {
    issues.push({
      variable: 'MEDIASOUP_ANNOUNCED_IP',
      message: 'required when MEDIASOUP_LISTEN_IP listens on every interface',
    });
  }

  if (e.UCC_RESTART_MAX_DELAY_MS < e.UCC_RESTART_INITIAL_DELAY_MS) {
    issues.push({
      variable: 'UCC_RESTART_MAX_DELAY_MS',
      message: 'must not be less than UCC_RESTART_INITIAL_DELAY_MS',
    });
  }

  if ((e.UCC_RTP_PORT_MIN === 0) !== (e.UCC_RTP_PORT_MAX === 0) || e.UCC_RTP_PORT_MAX < e.UCC_RTP_PORT_MIN) {
    issues.push({
      variable: 'UCC_RTP_PORT_MAX',
      message: 'set both UCC_RTP_PORT_MIN and a larger UCC_RTP_PORT_MAX',
    });
  }
  if (Boolean(e.UCC_SIP_TRUNK_USERNAME) !== Boolean(e.UCC_SIP_TRUNK_PASSWORD)) {
    issues.push({
      variable: e.UCC_SIP_TRUNK_USERNAME ? 'UCC_SIP_TRUNK_PASSWORD' : 'UCC_SIP_TRUNK_USERNAME',
      message: 'set both UCC_SIP_TRUNK_USERNAME and UCC_SIP_TRUNK_PASSWORD, or neither',
    });
  }
  // The embedded edge needs both binaries; without them (bootstrap not run) telephony is off, not an error.
  const kamailioBin = manifest?.kamailioBin || (existsSync('/usr/sbin/kamailio') ? '/usr/sbin/kamailio' : '');
  const rtpengineBin =
    manifest?.rtpengineBin || (existsSync('/usr/bin/rtpengine') ? '/usr/bin/rtpengine' : '');
  const telephonyMode = e.UCC_TELEPHONY ?? (e.UCC_KAMAILIO_RPC_URL ? 'external' : 'embedded');
  const external = telephonyMode === 'external' ? externalEdge(e, issues) : undefined;
  const telephony: Config['telephony'] = external
    ? external
    : telephonyMode === 'embedded' && kamailioBin && rtpengineBin
      ? {
          mode: 'embedded',
          domain: e.UCC_SIP_DOMAIN ?? e.MATRIX_SERVER_NAME.replace(/:\d+$/, ''),
          kamailioBin,
          rtpengineBin,
          rtpPortMin: e.UCC_RTP_PORT_MIN,
          rtpPortMax: e.UCC_RTP_PORT_MAX,
          noAnswerTimeoutMs: e.UCC_SIP_NO_ANSWER_TIMEOUT_MS,
          trunkUri: e.UCC_SIP_TRUNK_URI,
          outboundPrefix: e.UCC_SIP_OUTBOUND_PREFIX,
          trunkAuth:
            e.UCC_SIP_TRUNK_USERNAME && e.UCC_SIP_TRUNK_PASSWORD
              ? { username: e.UCC_SIP_TRUNK_USERNAME, password: e.UCC_SIP_TRUNK_PASSWORD }
              : undefined,
          didPrefix: e.UCC_SIP_TRUNK_DID_PREFIX,
          didOperator: e.UCC_SIP_TRUNK_DID_OPERATOR,
        }
      : { mode: 'off' };

  if (issues.length > 0) throw configError(issues);

  return {
    http: {
      port: e.PORT,
      host: e.HOST,
      publicUrl: stripSlash(e.PUBLIC_URL ?? `http://localhost:${e.PORT}`),
      metricsToken: e.UCC_METRICS_TOKEN,
      body: {
        publicJsonBytes: e.UCC_HTTP_PUBLIC_JSON_MAX_BYTES,
        jsonBytes: e.UCC_HTTP_JSON_MAX_BYTES,
        bulkBytes: e.UCC_HTTP_BULK_MAX_BYTES,
        jsonMaxDepth: e.UCC_HTTP_JSON_MAX_DEPTH,
      },
      appserviceBody: {
        limitBytes: e.UCC_APPSERVICE_MAX_BODY_BYTES,
        maxDepth: e.UCC_APPSERVICE_JSON_MAX_DEPTH,
      },
    },
    logLevel: e.LOG_LEVEL,
    dataDir: path.resolve(e.UCC_DATA_DIR),
    shutdownTimeoutMs: e.UCC_SHUTDOWN_TIMEOUT_MS,
    stackStartTimeoutMs: e.UCC_STACK_START_TIMEOUT_MS,
    restart: {
      initialDelayMs: e.UCC_RESTART_INITIAL_DELAY_MS,
      maxDelayMs: e.UCC_RESTART_MAX_DELAY_MS,
      stableAfterMs: e.UCC_RESTART_STABLE_AFTER_MS,
    },
    db: {
      serverSelectionTimeoutMs: e.UCC_DB_SERVER_SELECTION_TIMEOUT_MS,
      socketTimeoutMs: e.UCC_DB_SOCKET_TIMEOUT_MS,
    },
    mongodbUri: e.MONGODB_URI,
    redis,
    cluster: { heartbeatMs: e.UCC_NODE_HEARTBEAT_MS, nodeTtlMs: e.UCC_NODE_TTL_MS },
    matrix,
    mediasoup: {
      workerBin: workerBin ?? '',
      numWorkers: e.MEDIASOUP_NUM_WORKERS ?? availableParallelism(),
      listenIp: e.MEDIASOUP_LISTEN_IP,
      announcedAddress: e.MEDIASOUP_ANNOUNCED_IP,
      webRtcPort: e.MEDIASOUP_WEBRTC_PORT,
      logLevel: e.MEDIASOUP_LOG_LEVEL,
      consumerThreshold: e.MEDIASOUP_CONSUMER_THRESHOLD,
      maxTransportsPerParticipant: e.UCC_MEDIA_MAX_TRANSPORTS,
    },
    signaling: {
      maxMessageBytes: e.UCC_SOCKET_MAX_MESSAGE_BYTES,
      requestsPerSecond: e.UCC_SOCKET_REQUESTS_PER_SECOND,
      requestBurst: e.UCC_SOCKET_REQUEST_BURST,
      disconnectAfterRefused: e.UCC_SOCKET_DISCONNECT_AFTER_REFUSED,
      maxPayloadDepth: e.UCC_SOCKET_MAX_PAYLOAD_DEPTH,
      maxPayloadNodes: e.UCC_SOCKET_MAX_PAYLOAD_NODES,
    },
    admin:
      e.UCC_ADMIN_EXTENSION && e.UCC_ADMIN_PASSWORD
        ? { extension: e.UCC_ADMIN_EXTENSION, password: e.UCC_ADMIN_PASSWORD }
        : undefined,
    demoDirectory: e.UCC_DEMO_DIRECTORY === 'on',
    demoPassword: e.UCC_DEMO_PASSWORD,
    auth: {
      jwtSecret: e.UCC_JWT_SECRET,
      accessTtlMs: e.UCC_ACCESS_TOKEN_TTL_MS,
      refreshTtlMs: e.UCC_REFRESH_TOKEN_TTL_MS,
      guestTtlMs: e.UCC_GUEST_TOKEN_TTL_MS,
      resetTtlMs: e.UCC_RESET_TOKEN_TTL_MS,
      refreshGraceMs: e.UCC_REFRESH_GRACE_MS,
    },
    rejoinGraceMs: e.UCC_REJOIN_GRACE_MS,
    meetings: {
      maxParticipants: e.UCC_MEETING_MAX_PARTICIPANTS,
      maxWaiting: e.UCC_MEETING_MAX_WAITING,
      maxDenylist: e.UCC_MEETING_MAX_DENYLIST,
      maxParticipantRecords: Math.max(e.UCC_MEETING_MAX_PARTICIPANT_RECORDS, e.UCC_MEETING_MAX_PARTICIPANTS),
      guestBrowserTtlMs: e.UCC_GUEST_BROWSER_TTL_MS,
    },
    dialIn: {
      extension: e.UCC_DIALIN_EXTENSION,
      attemptsPerCaller: e.UCC_RATE_LIMIT_DIALIN_PER_CALLER,
      attemptsGlobal: e.UCC_RATE_LIMIT_DIALIN_GLOBAL,
      windowMs: e.UCC_RATE_LIMIT_WINDOW_MS,
    },
    turn,
    chat: {
      maxUploadBytes: e.UCC_CHAT_MAX_UPLOAD_BYTES,
      rateLimit: { messages: e.UCC_CHAT_RATE_LIMIT_MESSAGES, windowMs: e.UCC_CHAT_RATE_LIMIT_WINDOW_MS },
      txnLeaseMs: e.UCC_CHAT_TXN_LEASE_MS,
    },
    contacts: {
      importMaxBytes: e.UCC_CONTACTS_IMPORT_MAX_BYTES,
      imageMaxBytes: e.UCC_CONTACTS_IMAGE_MAX_BYTES,
      defaultCountry: e.UCC_CONTACTS_DEFAULT_COUNTRY,
    },
    telephony,
    webPhone: { reconnectGraceMs: e.UCC_WEB_PHONE_RECONNECT_GRACE_MS },
    mail: { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM },
    rateLimits: {
      windowMs: e.UCC_RATE_LIMIT_WINDOW_MS,
      loginPerIp: e.UCC_RATE_LIMIT_LOGIN_PER_IP,
      loginPerExtensionAndIp: e.UCC_RATE_LIMIT_LOGIN_PER_EXTENSION_IP,
      loginPerExtension: e.UCC_RATE_LIMIT_LOGIN_PER_EXTENSION,
      loginKnownIpTtlMs: e.UCC_RATE_LIMIT_LOGIN_KNOWN_IP_TTL_MS,
      recoverPerIp: e.UCC_RATE_LIMIT_RECOVER_PER_IP,
      recoverPerExtension: e.UCC_RATE_LIMIT_RECOVER_PER_EXTENSION,
      guestJoinPerIpAndLink: e.UCC_RATE_LIMIT_GUEST_JOIN_PER_IP_LINK,
    },
    stack: manifest,
  };
}

type Env = z.infer<typeof envSchema>;
type Issues = { variable: string; message: string }[];

/** The customer's Kamailio edge: every address required, nothing guessed but the SIP address (the RPC's host). */
function externalEdge(e: Env, issues: Issues): Extract<Config['telephony'], { mode: 'external' }> {
  const required = [
    'UCC_KAMAILIO_RPC_URL',
    'UCC_KAMAILIO_RPC_TOKEN',
    'UCC_KAMAILIO_EVAPI',
    'UCC_SIP_WS_URL',
    'UCC_SIP_DOMAIN',
  ] as const;
  for (const variable of required) {
    if (!e[variable]) issues.push({ variable, message: 'required with UCC_TELEPHONY=external' });
  }
  const rpc = e.UCC_KAMAILIO_RPC_URL ? new URL(e.UCC_KAMAILIO_RPC_URL) : undefined;
  const hostPort = (text: string | undefined, defaultPort: number): { host: string; port: number } => {
    const m = /^(?:sip:)?([^:]+)(?::(\d+))?$/i.exec(text ?? '');
    return { host: m?.[1] ?? '', port: m?.[2] ? Number(m[2]) : defaultPort };
  };
  const evapi = hostPort(e.UCC_KAMAILIO_EVAPI, 0);
  // Our generated config serves SIP, WebSocket and RPC on one port: the RPC's address is the SIP one by default.
  const sip = e.UCC_KAMAILIO_SIP_URI
    ? hostPort(e.UCC_KAMAILIO_SIP_URI, 5060)
    : { host: rpc?.hostname ?? '', port: Number(rpc?.port || (rpc?.protocol === 'https:' ? 443 : 80)) };
  if (e.UCC_KAMAILIO_EVAPI && (evapi.port < 1 || evapi.port > 65535))
    issues.push({ variable: 'UCC_KAMAILIO_EVAPI', message: 'port must be 1-65535' });
  if (sip.port < 1 || sip.port > 65535)
    issues.push({ variable: 'UCC_KAMAILIO_SIP_URI', message: 'port must be 1-65535' });
  return {
    mode: 'external',
    domain: e.UCC_SIP_DOMAIN ?? '',
    rpcUrl: e.UCC_KAMAILIO_RPC_URL ?? '',
    rpcToken: e.UCC_KAMAILIO_RPC_TOKEN ?? '',
    evapi,
    sip,
    wsUrl: e.UCC_SIP_WS_URL ?? '',
    wsCaFile: e.UCC_SIP_WS_CA_FILE,
    trunkUri: e.UCC_SIP_TRUNK_URI,
    outboundPrefix: e.UCC_SIP_OUTBOUND_PREFIX,
  };
}

function configError(issues: { variable: string; message: string }[]): ConfigError {
  const lines = issues.map((i) => `  ${i.variable}: ${i.message}`);
  return new ConfigError(`Invalid configuration:\n${lines.join('\n')}`, issues);
}

function stripSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}
