import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Logger } from '../logger.js';
import { isAlive, killGroup, processStartTime, recordedProcesses, removePidFile } from './pidfiles.js';

const lockSchema = z.object({
  pid: z.number().int().positive(),
  startTime: z.string(),
  startedAt: z.string(),
});

type LockContent = z.infer<typeof lockSchema>;

export const LOCK_FILE = 'ucc.lock';

/** Another live server holds the data dir: starting beside it would mean two writers on its SQLite files. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
    startedAt: string,
  ) {
    super(
      `UCC_DATA_DIR ${dataDir} is in use by the OpiVoice UCC server with pid ${holderPid} (running since ` +
        `${startedAt}). Stop that server first, or give this one another UCC_DATA_DIR.`,
    );
    this.name = 'DataDirInUseError';
  }
}

/**
 * One running server per data dir: a lock file naming the holder (pid and the kernel's start time of that pid,
 * so that a reused pid is not mistaken for the holder). A lock whose holder is gone is stale: it is taken over
 * after ending any child the dead server left behind (their pidfiles are in `run/`).
 */
export class DataDirLock {
  readonly #file: string;
  readonly #content: string;
  #released = false;

  private constructor(file: string, content: string) {
    this.#file = file;
    this.#content = content;
    // However we exit, the lock goes with us (a SIGKILL leaves it behind: that is the stale case).
    process.once('exit', this.#releaseOnExit);
  }

  /** The data dir must exist. Throws DataDirInUseError when a live server holds it. */
  static async acquire(dataDir: string, logger: Logger): Promise<DataDirLock> {
    const file = path.join(dataDir, LOCK_FILE);
    const startTime = processStartTime(process.pid) ?? '';
    const mine: LockContent = { pid: process.pid, startTime, startedAt: new Date().toISOString() };
    const content = JSON.stringify(mine);
    // Two rounds at most: a stale lock is removed once, then the exclusive create must win or lose for real.
    for (let round = 0; round < 2; round++) {
      if (tryCreate(file, content)) return new DataDirLock(file, content);
      const raw = readOrUndefined(file);
      if (raw === undefined) continue; // Released between our two calls.
      const holder = parseLock(raw);
      if (holder && holder.pid !== process.pid && isAlive(holder)) {
        throw new DataDirInUseError(dataDir, holder.pid, holder.startedAt);
      }
      logger.warn({ dataDir, stalePid: holder?.pid }, 'taking over the stale lock of a server that is gone');
      await endLeftovers(path.join(dataDir, 'run'), logger);
      // Only the stale content we judged: never a lock someone else has just taken.
      if (readOrUndefined(file) === raw) unlinkSync(file);
    }
    const holder = parseLock(readOrUndefined(file) ?? '');
    throw new DataDirInUseError(dataDir, holder?.pid ?? 0, holder?.startedAt ?? 'unknown');
  }

  /** Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    process.off('exit', this.#releaseOnExit);
    if (readOrUndefined(this.#file) === this.#content) unlinkSync(this.#file);
  }

  readonly #releaseOnExit = (): void => this.release();
}

function tryCreate(file: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function parseLock(raw: string): LockContent | undefined {
  try {
    const parsed = lockSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const LEFTOVER_WAIT_MS = 5_000;

/** SIGKILL to every child a dead server left running, then waits (bounded) until they are gone. */
async function endLeftovers(dir: string, logger: Logger): Promise<void> {
  const leftovers = recordedProcesses(dir);
  for (const { record } of leftovers) {
    logger.warn({ pid: record.pid }, 'ending a child left behind by the previous server');
    killGroup(record.pid, 'SIGKILL');
  }
  const deadline = Date.now() + LEFTOVER_WAIT_MS;
  while (leftovers.some(({ record }) => isAlive(record)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const { file, record } of leftovers) {
    if (isAlive(record)) throw new Error(`pid ${record.pid} left by the previous server does not end`);
    removePidFile(file);
  }
}
