import { EventEmitter } from 'node:events';
import type { MatrixEndpoint } from '../chat/matrix/appservice.js';
import type { Config } from '../config.js';
import type { ReadinessProbe } from '../http/readiness.js';
import type { Logger } from '../logger.js';
import path from 'node:path';
import { loadOrCreateSecret } from '../util/secrets.js';
import { prepareDataDir } from './dataDir.js';
import { CoturnService } from './CoturnService.js';
import { FerretDbService } from './FerretDbService.js';
import { BRIDGE_USER, KamailioService, kamailioRpcUp, type KamailioEndpoint } from './KamailioService.js';
import { RedisService } from './RedisService.js';
import { RtpengineService } from './RtpengineService.js';
import { SynapseService } from './SynapseService.js';
import type { SupervisedProcessEvents } from './SupervisedProcess.js';

/** A TURN server that takes TURN REST API credentials (coturn's use-auth-secret): what clients are handed. */
export interface TurnSettings {
  urls: string[];
  secret: string;
  credentialTtlMs: number;
}

export interface StackEndpoints {
  mongodbUri: string;
  matrix: MatrixEndpoint;
  /** Undefined when TURN is off (or coturn is not installed). */
  turn: TurnSettings | undefined;
  /** The embedded Kamailio or the customer's (UCC_TELEPHONY=external); undefined when telephony is off. */
  kamailio: KamailioEndpoint | undefined;
  /** REDIS_URL or the embedded redis-server's; undefined when Redis is off. */
  redisUrl: string | undefined;
}

export interface EmbeddedStackEvents {
  /** A child died unasked; it is restarted after `restartInMs`. */
  crashed: [
    service: string,
    info: { code: number | null; signal: NodeJS.Signals | null; lastOutput: string; restartInMs: number },
  ];
  restarted: [service: string, info: { pid: number | undefined; attempt: number }];
}

/** What EmbeddedStack needs of each child: FerretDbService, SynapseService and CoturnService all fit. */
interface StackChild extends EventEmitter<SupervisedProcessEvents> {
  check(): Promise<void>;
  stop(): Promise<void>;
  kill(): void;
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
  readonly #phone: { kamailio: KamailioService; rtpengine: RtpengineService } | undefined;
  readonly #redis: RedisService | undefined;
  #stopped: Promise<void> | undefined;

  private constructor(
    endpoints: StackEndpoints,
    ferret?: FerretDbService,
    synapse?: SynapseService,
    coturn?: CoturnService,
    phone?: { kamailio: KamailioService; rtpengine: RtpengineService },
    redis?: RedisService,
  ) {
    super();
    this.#phone = phone;
    this.#redis = redis;
    this.endpoints = endpoints;
    this.#ferret = ferret;
    this.#synapse = synapse;
    this.#coturn = coturn;
    for (const [name, child] of this.#children()) {
      child.on('crashed', (info) => this.emit('crashed', name, info));
      child.on('restarted', (info) => this.emit('restarted', name, info));
    }
  }

  /** The children this stack started, by their readiness-probe name. */
  #children(): [string, StackChild][] {
    const children: [string, StackChild | undefined][] = [
      ['ferretdb', this.#ferret],
      ['synapse', this.#synapse],
      ['coturn', this.#coturn],
      ['kamailio', this.#phone?.kamailio],
      ['rtpengine', this.#phone?.rtpengine],
      ['redis', this.#redis],
    ];
    return children.filter((entry): entry is [string, StackChild] => entry[1] !== undefined);
  }

  /**
   * One readiness probe per embedded child (`ferretdb`, `synapse`, `coturn`, `kamailio`, `rtpengine`): failing
   * while it is restarted.
   */
  probes(): ReadinessProbe[] {
    const probes = this.#children().map(([name, child]) => ({ name, check: () => child.check() }));
    const k = this.endpoints.kamailio;
    if (!this.#phone && k?.rpcUrl) {
      // The customer's edge, under the same name as the embedded one: its JSON-RPC answering.
      const url = k.rpcUrl;
      probes.push({
        name: 'kamailio',
        check: async () => {
          const up = await kamailioRpcUp(url, k.rpcToken).catch(() => false);
          if (!up) throw new Error(`the external Kamailio's JSON-RPC at ${url} is not answering`);
        },
      });
    }
    return probes;
  }

  static async create(config: Config, logger: Logger): Promise<EmbeddedStack> {
    const needsDb = !config.mongodbUri;
    const needsMatrix = config.matrix.mode === 'embedded';
    if ((needsDb || needsMatrix) && !config.stack) {
      throw new Error('The embedded stack is not installed: run `bash scripts/bootstrap` (npm start does).');
    }
    await prepareDataDir(config.dataDir);
    const log = logger.child({ component: 'stack' });

    const turnBin = config.stack?.turnserverBin;
    const telephony = config.telephony;
    const [ferretResult, synapseResult, coturnResult, phoneResult, redisResult] = await Promise.allSettled([
      needsDb && config.stack
        ? FerretDbService.create({
            bin: config.stack.ferretdbBin,
            dataDir: config.dataDir,
            logger: log,
            startTimeoutMs: config.stackStartTimeoutMs,
            restart: config.restart,
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
            restart: config.restart,
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
              restart: config.restart,
            }).then((coturn) => ({ coturn, secret })),
          )
        : Promise.resolve(undefined),
      telephony.mode === 'embedded' ? startPhoneEdge(config, telephony, log) : Promise.resolve(undefined),
      config.redis.mode === 'embedded'
        ? startRedis(config, config.redis.bin, log)
        : Promise.resolve(undefined),
    ]);
    const ferret = ferretResult.status === 'fulfilled' ? ferretResult.value : undefined;
    const synapse = synapseResult.status === 'fulfilled' ? synapseResult.value : undefined;
    const coturn = coturnResult.status === 'fulfilled' ? coturnResult.value : undefined;
    const phone = phoneResult.status === 'fulfilled' ? phoneResult.value : undefined;
    const redis = redisResult.status === 'fulfilled' ? redisResult.value : undefined;
    const failure = [ferretResult, synapseResult, coturnResult, phoneResult, redisResult].find(
      (r) => r.status === 'rejected',
    );
    if (failure) {
      await Promise.all([
        ferret?.stop(),
        synapse?.stop(),
        coturn?.coturn.stop(),
        phone?.kamailio.stop(),
        phone?.rtpengine.stop(),
        redis?.stop(),
      ]);
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
    const kamailio =
      telephony.mode === 'external' ? externalEndpoint(config, telephony) : phone?.kamailio.endpoint;
    const redisUrl = config.redis.mode === 'external' ? config.redis.url : redis?.url;
    return new EmbeddedStack(
      { mongodbUri, matrix, turn, kamailio, redisUrl },
      ferret,
      synapse,
      coturn?.coturn,
      phone,
      redis,
    );
  }

  /** Idempotent; stops every child this stack started (no restarts from then on). */
  async stop(): Promise<void> {
    this.#stopped ??= Promise.all(this.#children().map(([, child]) => child.stop())).then(() => undefined);
    await this.#stopped;
  }

  /** Synchronous SIGKILL of every child: the end of a shutdown that ran out of time. */
  kill(): void {
    for (const [, child] of this.#children()) child.kill();
  }
}

async function startRedis(config: Config, bin: string, log: Logger): Promise<RedisService> {
  return RedisService.create({
    bin,
    dataDir: config.dataDir,
    password: await loadOrCreateSecret(path.join(config.dataDir, 'redis.secret')),
    logger: log,
    startTimeoutMs: config.stackStartTimeoutMs,
    restart: config.restart,
  });
}

/** rtpengine first: Kamailio's config names its control port. */
async function startPhoneEdge(
  config: Config,
  telephony: Extract<Config['telephony'], { mode: 'embedded' }>,
  log: Logger,
): Promise<{ kamailio: KamailioService; rtpengine: RtpengineService }> {
  const rtpengine = await RtpengineService.create({
    bin: telephony.rtpengineBin,
    dataDir: config.dataDir,
    portMin: telephony.rtpPortMin,
    portMax: telephony.rtpPortMax,
    logger: log,
    startTimeoutMs: config.stackStartTimeoutMs,
    restart: config.restart,
  });
  try {
    const kamailio = await KamailioService.create({
      bin: telephony.kamailioBin,
      dataDir: config.dataDir,
      domain: telephony.domain,
      rtpengineNgPort: rtpengine.ngPort,
      rpcToken: await loadOrCreateSecret(path.join(config.dataDir, 'kamailio.secret')),
      noAnswerTimeoutMs: telephony.noAnswerTimeoutMs,
      dialPlan: {
        country: config.contacts.defaultCountry,
        trunkUri: telephony.trunkUri,
        outboundPrefix: telephony.outboundPrefix,
        didPrefix: telephony.didPrefix,
        didOperator: telephony.didOperator,
      },
      trunkAuth: telephony.trunkAuth,
      logger: log,
      startTimeoutMs: config.stackStartTimeoutMs,
      restart: config.restart,
    });
    return { kamailio, rtpengine };
  } catch (err) {
    await rtpengine.stop();
    throw err;
  }
}

/** The customer's Kamailio edge as the PbxAdapter reaches it: nothing of it is started here. */
function externalEndpoint(
  config: Config,
  t: Extract<Config['telephony'], { mode: 'external' }>,
): KamailioEndpoint {
  return {
    sipHost: t.sip.host,
    sipPort: t.sip.port,
    rpcUrl: t.rpcUrl,
    evapiHost: t.evapi.host,
    evapiPort: t.evapi.port,
    wsUrl: t.wsUrl,
    wsCaFile: t.wsCaFile,
    domain: t.domain,
    rpcToken: t.rpcToken,
    bridgeUser: BRIDGE_USER,
    rtpengineNgPort: undefined,
    dialPlan: {
      country: config.contacts.defaultCountry,
      trunkUri: t.trunkUri,
      outboundPrefix: t.outboundPrefix,
    },
  };
}
