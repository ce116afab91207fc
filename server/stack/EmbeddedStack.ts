import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import path from 'node:path';
import { loadOrCreateSecret } from '../auth/secrets.js';
import type { TurnSettings } from '../meetings/turnCredentials.js';
import { CoturnService } from './CoturnService.js';
import { FerretDbService } from './FerretDbService.js';
import { SynapseService } from './SynapseService.js';

export interface MatrixEndpoint {
  homeserverUrl: string;
  serverName: string;
  asToken: string;
  hsToken: string;
  /** Only known for the embedded Synapse; lets tests and admin tooling register plain Matrix users. */
  registrationSharedSecret?: string;
}

export interface StackEndpoints {
  mongodbUri: string;
  matrix: MatrixEndpoint;
  /** Undefined when TURN is off (or coturn is not installed). */
  turn: TurnSettings | undefined;
}

export interface EmbeddedStackEvents {
  crashed: [
    service: string,
    info: { code: number | null; signal: NodeJS.Signals | null; lastOutput: string },
  ];
}

/**
 * Starts whatever the configuration does not point at: FerretDB when MONGODB_URI is unset, Synapse when
 * MATRIX_HOMESERVER_URL is unset, coturn when TURN_URLS is unset (unless UCC_TURN=off). Services that are
 * configured from outside are used as they are.
 */
export class EmbeddedStack extends EventEmitter<EmbeddedStackEvents> {
  readonly endpoints: StackEndpoints;
  readonly #ferret: FerretDbService | undefined;
  readonly #synapse: SynapseService | undefined;
  readonly #coturn: CoturnService | undefined;
  #stopped: Promise<void> | undefined;

  private constructor(
    endpoints: StackEndpoints,
    ferret?: FerretDbService,
    synapse?: SynapseService,
    coturn?: CoturnService,
  ) {
    super();
    this.endpoints = endpoints;
    this.#ferret = ferret;
    this.#synapse = synapse;
    this.#coturn = coturn;
    coturn?.on('crashed', (info) => this.emit('crashed', 'coturn', info));
    ferret?.on('crashed', (info) => this.emit('crashed', 'FerretDB', info));
    synapse?.on('crashed', (info) => this.emit('crashed', 'Synapse', info));
  }

  static async create(config: Config, logger: Logger): Promise<EmbeddedStack> {
    const needsDb = !config.mongodbUri;
    const needsMatrix = config.matrix.mode === 'embedded';
    if ((needsDb || needsMatrix) && !config.stack) {
      throw new Error('The embedded stack is not installed: run `bash scripts/bootstrap` (npm start does).');
    }
    await mkdir(config.dataDir, { recursive: true });
    const log = logger.child({ component: 'stack' });

    const turnBin = config.stack?.turnserverBin;
    const [ferretResult, synapseResult, coturnResult] = await Promise.allSettled([
      needsDb && config.stack
        ? FerretDbService.create({
            bin: config.stack.ferretdbBin,
            dataDir: config.dataDir,
            logger: log,
            startTimeoutMs: config.stackStartTimeoutMs,
          })
        : Promise.resolve(undefined),
      config.matrix.mode === 'embedded' && config.stack
        ? SynapseService.create({
            python: config.stack.synapsePython,
            dataDir: config.dataDir,
            serverName: config.matrix.serverName,
            bridgeUrl: config.matrix.bridgeUrl,
            logger: log,
            startTimeoutMs: config.stackStartTimeoutMs,
          })
        : Promise.resolve(undefined),
      config.turn.mode === 'embedded' && turnBin
        ? loadOrCreateSecret(path.join(config.dataDir, 'turn.secret')).then((secret) =>
            CoturnService.create({
              bin: turnBin,
              dataDir: config.dataDir,
              secret,
              realm: config.matrix.serverName,
              logger: log,
              startTimeoutMs: config.stackStartTimeoutMs,
            }).then((coturn) => ({ coturn, secret })),
          )
        : Promise.resolve(undefined),
    ]);
    const ferret = ferretResult.status === 'fulfilled' ? ferretResult.value : undefined;
    const synapse = synapseResult.status === 'fulfilled' ? synapseResult.value : undefined;
    const coturn = coturnResult.status === 'fulfilled' ? coturnResult.value : undefined;
    const failure = [ferretResult, synapseResult, coturnResult].find((r) => r.status === 'rejected');
    if (failure) {
      await Promise.all([ferret?.stop(), synapse?.stop(), coturn?.coturn.stop()]);
      throw failure.reason;
    }
    let turn: TurnSettings | undefined;
    if (config.turn.mode === 'external') {
      turn = {
        urls: config.turn.urls,
        secret: config.turn.secret,
        credentialTtlMs: config.turn.credentialTtlMs,
      };
    } else if (config.turn.mode === 'embedded' && coturn) {
      turn = {
        urls: [coturn.coturn.url, `turn:127.0.0.1:${coturn.coturn.port}?transport=tcp`],
        secret: coturn.secret,
        credentialTtlMs: config.turn.credentialTtlMs,
      };
    } else if (config.turn.mode === 'embedded') {
      log.warn('coturn is not installed: no TURN server for clients (run scripts/bootstrap)');
    }

    const mongodbUri = config.mongodbUri ?? ferret?.uri ?? '';
    const matrix: MatrixEndpoint =
      config.matrix.mode === 'external'
        ? {
            homeserverUrl: config.matrix.homeserverUrl,
            serverName: config.matrix.serverName,
            asToken: config.matrix.asToken,
            hsToken: config.matrix.hsToken,
          }
        : {
            homeserverUrl: synapse?.url ?? '',
            serverName: config.matrix.serverName,
            asToken: synapse?.secrets.asToken ?? '',
            hsToken: synapse?.secrets.hsToken ?? '',
            registrationSharedSecret: synapse?.secrets.registrationSharedSecret ?? '',
          };
    return new EmbeddedStack({ mongodbUri, matrix, turn }, ferret, synapse, coturn?.coturn);
  }

  /** Idempotent; stops every child this stack started. */
  async stop(): Promise<void> {
    this.#stopped ??= Promise.all([this.#ferret?.stop(), this.#synapse?.stop(), this.#coturn?.stop()]).then(
      () => undefined,
    );
    await this.#stopped;
  }
}
