import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
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
}

export interface EmbeddedStackEvents {
  crashed: [
    service: string,
    info: { code: number | null; signal: NodeJS.Signals | null; lastOutput: string },
  ];
}

/**
 * Starts whatever the configuration does not point at: FerretDB when MONGODB_URI is unset, Synapse when
 * MATRIX_HOMESERVER_URL is unset. Services that are configured from outside are used as they are.
 */
export class EmbeddedStack extends EventEmitter<EmbeddedStackEvents> {
  readonly endpoints: StackEndpoints;
  readonly #ferret: FerretDbService | undefined;
  readonly #synapse: SynapseService | undefined;
  #stopped: Promise<void> | undefined;

  private constructor(endpoints: StackEndpoints, ferret?: FerretDbService, synapse?: SynapseService) {
    super();
    this.endpoints = endpoints;
    this.#ferret = ferret;
    this.#synapse = synapse;
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

    const [ferretResult, synapseResult] = await Promise.allSettled([
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
    ]);
    const ferret = ferretResult.status === 'fulfilled' ? ferretResult.value : undefined;
    const synapse = synapseResult.status === 'fulfilled' ? synapseResult.value : undefined;
    const failure = [ferretResult, synapseResult].find((r) => r.status === 'rejected');
    if (failure) {
      await Promise.all([ferret?.stop(), synapse?.stop()]);
      throw failure.reason;
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
    return new EmbeddedStack({ mongodbUri, matrix }, ferret, synapse);
  }

  /** Idempotent; stops every child this stack started. */
  async stop(): Promise<void> {
    this.#stopped ??= Promise.all([this.#ferret?.stop(), this.#synapse?.stop()]).then(() => undefined);
    await this.#stopped;
  }
}
