import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { WorkerPool } from '../../sfu/WorkerPool.js';
import { loadConfig, type Config } from '../../server/config.js';
import { Database } from '../../server/db/Database.js';
import type { Logger } from '../../server/logger.js';
import type { MatrixEndpoint } from '../../server/chat/matrix/appservice.js';
import type { TurnSettings } from '../../server/stack/EmbeddedStack.js';
import { FerretDbService } from '../../server/stack/FerretDbService.js';
import { freePort } from '../../server/stack/ports.js';
import { SynapseService } from '../../server/stack/SynapseService.js';
import { CoturnService } from '../../server/stack/CoturnService.js';

/** The real services the suite runs against, each on a random loopback port with a temporary data dir. */
export interface TestStack {
  dataDir: string;
  config: Config;
  logger: Logger;
  ferret: FerretDbService;
  synapse: SynapseService;
  matrix: MatrixEndpoint;
  coturn: CoturnService;
  turn: TurnSettings;
  pool: WorkerPool;
}

let current: TestStack | undefined;

/** Fixed in tests so that fixtures can mint tokens the server accepts. */
export const TEST_JWT_SECRET = 'test-secret-test-secret-test-secret-0123456789';

/** Tests call this to reach the shared services; the root hooks have started them. */
export function testStack(): TestStack {
  if (!current) throw new Error('the test stack is not running (root hooks not loaded?)');
  return current;
}

/** A config as the server would build it, for tests: loopback, port 0, quiet. */
/** A database of its own (a random name) on the suite's FerretDB; `dropTestDatabase` removes it. */
export function connectTestDatabase(): Promise<Database> {
  const stack = testStack();
  return Database.connect(stack.ferret.uri, {
    dbName: `t_${randomUUID().slice(0, 8)}`,
    logger: stack.logger,
  });
}

export async function dropTestDatabase(db: Database): Promise<void> {
  await db.connection.dropDatabase();
  await db.close();
}

export function testConfig(dataDir: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    UCC_DATA_DIR: dataDir,
    MEDIASOUP_NUM_WORKERS: '2',
    UCC_JWT_SECRET: TEST_JWT_SECRET,
    ...env,
  });
}

export async function startTestStack(): Promise<TestStack> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'ucc-test-'));
  const logger = pino({ level: 'silent' });
  // Synapse needs the bridge URL up front; tests that serve the bridge listen on this reserved port.
  const bridgePort = await freePort();
  const config = testConfig(dataDir, { MATRIX_BRIDGE_URL: `http://127.0.0.1:${bridgePort}` });
  const stack = config.stack;
  if (!stack) throw new Error('run scripts/bootstrap first: .ucc/stack.json is missing');
  if (config.matrix.mode !== 'embedded') throw new Error('tests need the embedded Synapse');

  const started: { stop: () => Promise<void> }[] = [];
  try {
    const turnBin = stack.turnserverBin;
    if (!turnBin) throw new Error('coturn is not installed: run scripts/bootstrap');
    const turnSecret = 'test-turn-secret-0123456789';
    const [ferret, synapse, coturn] = await Promise.all([
      FerretDbService.create({ bin: stack.ferretdbBin, dataDir, logger, startTimeoutMs: 60_000 }).then(
        (s) => {
          started.push(s);
          return s;
        },
      ),
      SynapseService.create({
        python: stack.synapsePython,
        dataDir,
        serverName: config.matrix.serverName,
        bridgeUrl: config.matrix.bridgeUrl,
        logger,
        startTimeoutMs: 120_000,
      }).then((s) => {
        started.push(s);
        return s;
      }),
      CoturnService.create({
        bin: turnBin,
        dataDir,
        secret: turnSecret,
        realm: 'ucc.test',
        logger,
        startTimeoutMs: 30_000,
      }).then((s) => {
        started.push(s);
        return s;
      }),
    ]);
    const pool = await WorkerPool.create({
      numWorkers: config.mediasoup.numWorkers,
      listenIp: '127.0.0.1',
      webRtcPort: 0,
      logLevel: 'warn',
      logger,
    });
    current = {
      dataDir,
      config,
      logger,
      ferret,
      synapse,
      coturn,
      turn: { urls: [coturn.url], secret: turnSecret, credentialTtlMs: 3_600_000 },
      pool,
      matrix: {
        homeserverUrl: synapse.url,
        serverName: synapse.serverName,
        asToken: synapse.secrets.asToken,
        hsToken: synapse.secrets.hsToken,
        registrationSharedSecret: synapse.secrets.registrationSharedSecret,
      },
    };
    return current;
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()));
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}

export async function stopTestStack(): Promise<void> {
  const stack = current;
  current = undefined;
  if (!stack) return;
  stack.pool.close();
  await Promise.allSettled([stack.ferret.stop(), stack.synapse.stop(), stack.coturn.stop()]);
  await rm(stack.dataDir, { recursive: true, force: true });
}
