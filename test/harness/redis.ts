import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { RedisService } from '../../server/stack/RedisService.js';
import { testStack } from './testStack.js';

export interface TestRedis {
  service: RedisService;
  url: string;
  dataDir: string;
  close: () => Promise<void>;
}

/** A redis-server of the suite's own (Debian's, as the embedded stack runs it), in a temporary data dir. */
export async function startTestRedis(password = 'test-redis-password-0123456789'): Promise<TestRedis> {
  const bin = testStack().config.stack?.redisServerBin;
  if (!bin) throw new Error('redis-server is not installed: run scripts/bootstrap');
  const dataDir = await mkdtemp(path.join(tmpdir(), 'ucc-redis-'));
  const service = await RedisService.create({
    bin,
    dataDir,
    password,
    logger: pino({ level: 'silent' }),
    startTimeoutMs: 20_000,
    restart: { initialDelayMs: 50, maxDelayMs: 500, stableAfterMs: 60_000 },
  });
  return {
    service,
    url: service.url,
    dataDir,
    close: async () => {
      await service.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
