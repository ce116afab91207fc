/**
 * The composition root: reads the configuration, starts what is missing of the stack, and serves. Nothing else
 * in the code base starts processes or reads the environment.
 */
import { WorkerPool } from '../sfu/WorkerPool.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { Database } from './db/Database.js';
import { NumberPlan } from './directory/NumberPlan.js';
import { seedDirectory, type SeedResult } from './directory/seedDirectory.js';
import { userModel } from './directory/User.js';
import { createLogger } from './logger.js';
import { DialInPins } from './meetings/DialInPins.js';
import { installProcessGuards } from './processGuards.js';
import { RedisClients } from './redis/RedisClients.js';
import { prepareDataDir } from './stack/dataDir.js';
import { DataDirInUseError, DataDirLock } from './stack/DataDirLock.js';
import { EmbeddedStack } from './stack/EmbeddedStack.js';
import { callQueueModel, queueHolder } from './telephony/CallQueue.js';
import { UccServer } from './UccServer.js';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee .env.example for every variable.\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const closers: (() => Promise<void>)[] = [];
  // Synchronous last resorts for a shutdown out of time: children must not outlive us even then.
  const killers: (() => void)[] = [];
  let shuttingDown = false;

  const shutdown = async (reason: string, code: number): Promise<never> => {
    if (shuttingDown) process.exit(code);
    shuttingDown = true;
    logger.info({ reason }, 'shutting down');
    const force = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; killing the children');
      for (const kill of killers) kill();
      process.exit(code || 1);
    }, config.shutdownTimeoutMs);
    force.unref();
    for (const close of closers.reverse()) {
      await close().catch((err: unknown) => logger.error({ err }, 'error while closing'));
    }
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown('SIGINT', 0));
  process.once('SIGTERM', () => void shutdown('SIGTERM', 0));
  installProcessGuards(logger, shutdown);

  let lock: DataDirLock;
  try {
    await prepareDataDir(config.dataDir);
    lock = await DataDirLock.acquire(config.dataDir, logger);
  } catch (err) {
    if (err instanceof DataDirInUseError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  // Released last, once every child is stopped (closers run in reverse).
  closers.push(() => Promise.resolve(lock.release()));

  try {
    logger.info({ dataDir: config.dataDir }, 'starting the service stack');
    const stack = await EmbeddedStack.create(config, logger);
    closers.push(() => stack.stop());
    killers.push(() => stack.kill());
    // The children's supervisors log crashes and restarts themselves; this is the one line an operator greps.
    stack.on('crashed', (service, info) => {
      logger.error(
        { service, code: info.code, signal: info.signal, restartInMs: info.restartInMs },
        `${service} crashed`,
      );
    });
    stack.on('restarted', (service, info) => logger.warn({ service, ...info }, `${service} restarted`));

    const db = await Database.connect(stack.endpoints.mongodbUri, {
      dbName: 'ucc',
      logger,
      serverSelectionTimeoutMs: config.db.serverSelectionTimeoutMs,
      socketTimeoutMs: config.db.socketTimeoutMs,
    });
    closers.push(() => db.close());
    const numbers = new NumberPlan(userModel(db.connection));
    numbers.register('queue', queueHolder(callQueueModel(db.connection)));
    // The seeded admin must not get the dial-in extension either (UccServer checks the existing numbers).
    numbers.register('dialIn', DialInPins.numberHolder(config.dialIn.extension));
    const seed = await seedDirectory(db.connection, {
      demo: config.demoDirectory,
      demoPassword: config.demoPassword,
      admin: config.admin,
      numbers,
      logger,
    });

    const pool = await WorkerPool.create({
      numWorkers: config.mediasoup.numWorkers,
      listenIp: config.mediasoup.listenIp,
      announcedAddress: config.mediasoup.announcedAddress,
      webRtcPort: config.mediasoup.webRtcPort,
      logLevel: config.mediasoup.logLevel,
      logger: logger.child({ component: 'sfu' }),
    });
    closers.push(() => Promise.resolve(pool.close()));

    const redisUrl = stack.endpoints.redisUrl;
    const redis = redisUrl ? await RedisClients.create({ url: redisUrl, logger }) : undefined;
    if (redis) closers.push(() => redis.close());

    const server = await UccServer.create({
      config,
      logger,
      db,
      pool,
      matrix: stack.endpoints.matrix,
      turn: stack.endpoints.turn,
      kamailio: stack.endpoints.kamailio,
      redis,
      probes: stack.probes(),
    });
    closers.push(() => server.close());

    printWelcome(config, server.port, seed, Boolean(config.demoPassword));
    logger.info({ port: server.port, publicUrl: config.http.publicUrl }, 'OpiVoice UCC is ready');
  } catch (err) {
    logger.fatal({ err }, 'start-up failed');
    await shutdown('start-up failed', 1);
  }
}

function printWelcome(config: Config, port: number, seed: SeedResult, fixedPassword: boolean): void {
  const out: string[] = ['', `OpiVoice UCC listening on port ${port} (${config.http.publicUrl})`];
  if (seed.demoCredentials && seed.demoCredentials.length > 0) {
    out.push('Demo directory created. These passwords are shown only now:');
    for (const c of seed.demoCredentials) {
      const password = fixedPassword ? '(UCC_DEMO_PASSWORD)' : c.password;
      out.push(`  ${c.extension}  ${c.name.padEnd(20)} ${c.plan.padEnd(6)} ${password}`);
    }
  }
  if (!config.demoDirectory) {
    out.push(
      config.admin
        ? `Demo directory off (UCC_DEMO_DIRECTORY=off): sign in as the admin, extension ${config.admin.extension}.`
        : 'Demo directory off (UCC_DEMO_DIRECTORY=off) and no admin: set UCC_ADMIN_EXTENSION and UCC_ADMIN_PASSWORD.',
    );
  }
  process.stdout.write(`${out.join('\n')}\n\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `start-up failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
