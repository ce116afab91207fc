import { chmod, lstat, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The data dir holds secrets (JWT, TURN and Synapse secrets, signing key) and every user's messages in SQLite:
 * only our user may read it. It is 0700 and what we write in it 0600; the children write under umask 077.
 */

/** Creates the data dir 0700, and takes group and other bits off whatever an older version left in it. */
export async function prepareDataDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await tighten(dir);
}

async function tighten(target: string): Promise<void> {
  const stat = await lstat(target).catch(() => undefined);
  // Symlinks are left alone: chmod would follow them out of the data dir.
  if (!stat || stat.isSymbolicLink()) return;
  if ((stat.mode & 0o077) !== 0) await chmod(target, stat.mode & 0o700);
  if (!stat.isDirectory()) return;
  for (const name of await readdir(target)) await tighten(path.join(target, name));
}

/** The folder of our children's pidfiles (see pidfiles.ts). */
export async function runDir(dataDir: string): Promise<string> {
  const dir = path.join(dataDir, 'run');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Writes `file` readable by us alone, also when it already existed with a wider mode. */
export async function writePrivateFile(file: string, data: string): Promise<void> {
  await writeFile(file, data, { mode: 0o600 });
  await chmod(file, 0o600);
}
