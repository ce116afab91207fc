/**
 * The one reader of the environment. Everything the server needs from outside is parsed and validated here,
 * once, and handed on as a typed object; no other module touches `process.env`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
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

  UCC_ADMIN_EXTENSION: optionalString.pipe(
    z
      .string()
      .regex(/^\d{2,10}$/, 'must be 2-10 digits')
      .optional(),
  ),
  UCC_ADMIN_PASSWORD: optionalString.pipe(z.string().min(8, 'must be at least 8 characters').optional()),
  UCC_DEMO_PASSWORD: optionalString.pipe(z.string().min(6, 'must be at least 6 characters').optional()),

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

  UCC_REJOIN_GRACE_MS: positiveMs.default(120_000),

  TURN_URLS: optionalString,
  TURN_SECRET: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  TURN_CREDENTIAL_TTL_MS: positiveMs.default(3_600_000),
  UCC_TURN: z.enum(['embedded', 'off']).default('embedded'),

  UCC_CHAT_MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(50 * 1024 * 1024)
    .default(20 * 1024 * 1024),

  SMTP_URL: optionalString.pipe(z.url({ protocol: /^smtps?$/ }).optional()),
  MAIL_FROM: z.string().trim().min(3).default('OpiVoice UCC <no-reply@localhost>'),

  UCC_RATE_LIMIT_WINDOW_MS: positiveMs.default(15 * 60_000),
  UCC_RATE_LIMIT_LOGIN_PER_IP: z.coerce.number().int().min(1).default(100),
  UCC_RATE_LIMIT_LOGIN_PER_EXTENSION: z.coerce.number().int().min(1).default(10),
  UCC_RATE_LIMIT_RECOVER_PER_IP: z.coerce.number().int().min(1).default(20),
  UCC_RATE_LIMIT_RECOVER_PER_EXTENSION: z.coerce.number().int().min(1).default(5),
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
  };
  admin: { extension: string; password: string } | undefined;
  demoPassword: string | undefined;
  auth: {
    /** When unset, a secret is generated once and kept in the data dir. */
    jwtSecret: string | undefined;
    accessTtlMs: number;
    refreshTtlMs: number;
    guestTtlMs: number;
    resetTtlMs: number;
  };
  /** How long someone who dropped out of a meeting may come back, even after its end time. */
  rejoinGraceMs: number;
  /** TURN for clients behind restrictive networks: an external coturn, the embedded one, or none. */
  turn:
    | { mode: 'external'; urls: string[]; secret: string; credentialTtlMs: number }
    | { mode: 'embedded'; credentialTtlMs: number }
    | { mode: 'off' };
  /** Chat files above this size are refused with 413 FILE_TOO_LARGE (Synapse itself takes up to 50 MB). */
  chat: { maxUploadBytes: number };
  /** Without an SMTP URL no mail is sent (recovery mails are logged as skipped). */
  mail: { smtpUrl: string | undefined; from: string };
  rateLimits: {
    windowMs: number;
    loginPerIp: number;
    loginPerExtension: number;
    recoverPerIp: number;
    recoverPerExtension: number;
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
    mongodbUri: e.MONGODB_URI,
    matrix,
    mediasoup: {
      workerBin: workerBin ?? '',
      numWorkers: e.MEDIASOUP_NUM_WORKERS ?? availableParallelism(),
      listenIp: e.MEDIASOUP_LISTEN_IP,
      announcedAddress: e.MEDIASOUP_ANNOUNCED_IP,
      webRtcPort: e.MEDIASOUP_WEBRTC_PORT,
      logLevel: e.MEDIASOUP_LOG_LEVEL,
      consumerThreshold: e.MEDIASOUP_CONSUMER_THRESHOLD,
    },
    admin:
      e.UCC_ADMIN_EXTENSION && e.UCC_ADMIN_PASSWORD
        ? { extension: e.UCC_ADMIN_EXTENSION, password: e.UCC_ADMIN_PASSWORD }
        : undefined,
    demoPassword: e.UCC_DEMO_PASSWORD,
    auth: {
      jwtSecret: e.UCC_JWT_SECRET,
      accessTtlMs: e.UCC_ACCESS_TOKEN_TTL_MS,
      refreshTtlMs: e.UCC_REFRESH_TOKEN_TTL_MS,
      guestTtlMs: e.UCC_GUEST_TOKEN_TTL_MS,
      resetTtlMs: e.UCC_RESET_TOKEN_TTL_MS,
    },
    rejoinGraceMs: e.UCC_REJOIN_GRACE_MS,
    turn,
    chat: { maxUploadBytes: e.UCC_CHAT_MAX_UPLOAD_BYTES },
    mail: { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM },
    rateLimits: {
      windowMs: e.UCC_RATE_LIMIT_WINDOW_MS,
      loginPerIp: e.UCC_RATE_LIMIT_LOGIN_PER_IP,
      loginPerExtension: e.UCC_RATE_LIMIT_LOGIN_PER_EXTENSION,
      recoverPerIp: e.UCC_RATE_LIMIT_RECOVER_PER_IP,
      recoverPerExtension: e.UCC_RATE_LIMIT_RECOVER_PER_EXTENSION,
    },
    stack: manifest,
  };
}

function configError(issues: { variable: string; message: string }[]): ConfigError {
  const lines = issues.map((i) => `  ${i.variable}: ${i.message}`);
  return new ConfigError(`Invalid configuration:\n${lines.join('\n')}`, issues);
}

function stripSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}
