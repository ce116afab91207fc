import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { z } from 'zod';
import {
  APPSERVICE_ID,
  APPSERVICE_SENDER_LOCALPART,
  APPSERVICE_USER_PREFIX,
} from '../chat/matrix/appservice.js';
import type { Logger } from '../logger.js';
import { EmbeddedChild } from './EmbeddedChild.js';
import { runDir, writePrivateFile } from './dataDir.js';
import { freePort } from './ports.js';
import { DEFAULT_RESTART_POLICY, SupervisedProcess, type RestartPolicy } from './SupervisedProcess.js';

const execFileAsync = promisify(execFile);

export interface SynapseOptions {
  /** The venv's python, with matrix-synapse installed. */
  python: string;
  dataDir: string;
  serverName: string;
  /** Where Synapse pushes application-service transactions (our bridge). */
  bridgeUrl: string;
  logger: Logger;
  startTimeoutMs: number;
  /** A fixed client-API port (a restart that keeps its URL); a free one otherwise. */
  port?: number;
  restart?: RestartPolicy;
}

/** Secrets are generated once per data directory and kept, so tokens survive restarts. */
const secretsSchema = z.object({
  registrationSharedSecret: z.string(),
  macaroonSecretKey: z.string(),
  formSecret: z.string(),
  asToken: z.string(),
  hsToken: z.string(),
});

export type SynapseSecrets = z.infer<typeof secretsSchema>;

/**
 * The embedded Matrix homeserver: Synapse on SQLite, loopback only, no federation, with our application-service
 * registration loaded. Its config is regenerated at each start (ports change); its secrets are not.
 */
export class SynapseService extends EmbeddedChild {
  readonly url: string;
  readonly serverName: string;
  readonly secrets: SynapseSecrets;

  private constructor(proc: SupervisedProcess, url: string, serverName: string, secrets: SynapseSecrets) {
    super(proc, 10_000);
    this.url = url;
    this.serverName = serverName;
    this.secrets = secrets;
  }

  static async create(options: SynapseOptions): Promise<SynapseService> {
    const dir = path.join(options.dataDir, 'synapse');
    await mkdir(path.join(dir, 'media_store'), { recursive: true, mode: 0o700 });
    const secrets = await loadOrCreateSecrets(path.join(dir, 'secrets.json'));
    const port = options.port ?? (await freePort());
    const url = `http://127.0.0.1:${port}`;
    const configPath = path.join(dir, 'homeserver.yaml');

    // Secrets live in these files (0600), never on Synapse's command line.
    await writePrivateFile(
      path.join(dir, 'appservice.yaml'),
      stringify(appserviceRegistration(options.serverName, options.bridgeUrl, secrets)),
    );
    await writePrivateFile(path.join(dir, 'log.yaml'), stringify(logConfig()));
    await writePrivateFile(configPath, stringify(homeserverConfig(dir, port, options.serverName, secrets)));

    if (!existsSync(path.join(dir, 'signing.key'))) {
      await execFileAsync(
        options.python,
        ['-m', 'synapse.app.homeserver', '--config-path', configPath, '--generate-keys'],
        {
          cwd: dir,
        },
      );
      // Written under our umask, not the launcher's: the signing key must not stay world-readable.
      await chmod(path.join(dir, 'signing.key'), 0o600);
    }

    // Restarts reuse these arguments, hence this port: the homeserver URL handed out stays valid.
    const proc = await SupervisedProcess.start(
      {
        name: 'Synapse',
        command: options.python,
        args: ['-m', 'synapse.app.homeserver', '--config-path', configPath],
        cwd: dir,
        env: { PYTHONDONTWRITEBYTECODE: '1', SYNAPSE_NO_TLS: '1' },
        logFile: path.join(options.dataDir, 'synapse.log'),
        pidFile: path.join(await runDir(options.dataDir), 'synapse.pid'),
        logger: options.logger,
        startTimeoutMs: options.startTimeoutMs,
        pollIntervalMs: 300,
        healthCheck: async () => (await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) })).ok,
      },
      options.restart ?? DEFAULT_RESTART_POLICY,
    );
    return new SynapseService(proc, url, options.serverName, secrets);
  }
}

async function loadOrCreateSecrets(file: string): Promise<SynapseSecrets> {
  if (existsSync(file)) {
    return secretsSchema.parse(JSON.parse(await readFile(file, 'utf8')));
  }
  const token = (): string => randomBytes(32).toString('base64url');
  const secrets: SynapseSecrets = {
    registrationSharedSecret: token(),
    macaroonSecretKey: token(),
    formSecret: token(),
    asToken: token(),
    hsToken: token(),
  };
  await writePrivateFile(file, JSON.stringify(secrets, null, 2));
  return secrets;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function appserviceRegistration(
  serverName: string,
  bridgeUrl: string,
  secrets: SynapseSecrets,
): object {
  return {
    id: APPSERVICE_ID,
    url: bridgeUrl,
    as_token: secrets.asToken,
    hs_token: secrets.hsToken,
    sender_localpart: APPSERVICE_SENDER_LOCALPART,
    rate_limited: false,
    // Typing and read receipts in transactions (Matrix 1.13, MSC2409), so that what colleagues do in other
    // Matrix clients (Element) shows in ours; Synapse 1.156+ reads this stable flag.
    receive_ephemeral: true,
    namespaces: {
      users: [{ exclusive: true, regex: `@${APPSERVICE_USER_PREFIX}.*:${escapeRegex(serverName)}` }],
      aliases: [{ exclusive: true, regex: `#${APPSERVICE_USER_PREFIX}.*:${escapeRegex(serverName)}` }],
      rooms: [],
    },
  };
}

function homeserverConfig(dir: string, port: number, serverName: string, secrets: SynapseSecrets): object {
  const generous = { per_second: 100, burst_count: 200 };
  return {
    server_name: serverName,
    pid_file: path.join(dir, 'homeserver.pid'),
    public_baseurl: `http://127.0.0.1:${port}/`,
    listeners: [
      {
        port,
        bind_addresses: ['127.0.0.1'],
        type: 'http',
        tls: false,
        x_forwarded: false,
        resources: [{ names: ['client'], compress: false }],
      },
    ],
    database: { name: 'sqlite3', args: { database: path.join(dir, 'homeserver.db') } },
    log_config: path.join(dir, 'log.yaml'),
    media_store_path: path.join(dir, 'media_store'),
    max_upload_size: '50M',
    signing_key_path: path.join(dir, 'signing.key'),
    registration_shared_secret: secrets.registrationSharedSecret,
    macaroon_secret_key: secrets.macaroonSecretKey,
    form_secret: secrets.formSecret,
    enable_registration: false,
    report_stats: false,
    enable_metrics: false,
    // A closed, single-tenant homeserver: no federation, no key servers, no URL previews.
    federation_domain_whitelist: [],
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    url_preview_enabled: false,
    presence: { enabled: false },
    app_service_config_files: [path.join(dir, 'appservice.yaml')],
    rc_message: generous,
    rc_login: { address: generous, account: generous, failed_attempts: generous },
    rc_registration: generous,
    rc_joins: { local: generous, remote: generous },
    rc_invites: { per_room: generous, per_user: generous, per_issuer: generous },
    rc_admin_redaction: generous,
  };
}

function logConfig(): object {
  return {
    version: 1,
    formatters: { precise: { format: '%(asctime)s %(levelname)s %(name)s %(message)s' } },
    handlers: { console: { class: 'logging.StreamHandler', formatter: 'precise' } },
    root: { level: 'WARNING', handlers: ['console'] },
    disable_existing_loggers: false,
  };
}
