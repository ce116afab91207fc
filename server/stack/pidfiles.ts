import { readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * Pidfiles of the children we start, one per child in the data dir's `run/` folder. A pid alone can be reused
 * by an unrelated process after a crash, so each record also carries the kernel's start time of that pid.
 */
const recordSchema = z.object({ pid: z.number().int().positive(), startTime: z.string() });

export type ProcessRecord = z.infer<typeof recordSchema>;

/**
 * Field 22 of /proc/<pid>/stat (clock ticks since boot); undefined when the process does not exist or has
 * already ended (a zombie waiting for its parent holds nothing any more).
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
    const afterName = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (afterName[0] === 'Z' || afterName[0] === 'X') return undefined;
    return afterName[19];
  } catch {
    return undefined;
  }
}

/** True while the very process of the record runs (not a later one that got the same pid). */
export function isAlive(record: ProcessRecord): boolean {
  return processStartTime(record.pid) === record.startTime;
}

export function recordOf(pid: number): ProcessRecord | undefined {
  const startTime = processStartTime(pid);
  return startTime === undefined ? undefined : { pid, startTime };
}

export function writePidFile(file: string, record: ProcessRecord): void {
  writeFileSync(file, JSON.stringify(record), { mode: 0o600 });
}

export function readPidFile(file: string): ProcessRecord | undefined {
  try {
    const parsed = recordSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function removePidFile(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone.
  }
}

/** The live processes recorded in `dir`'s pidfiles (a missing folder records none). */
export function recordedProcesses(dir: string): { file: string; record: ProcessRecord }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const found: { file: string; record: ProcessRecord }[] = [];
  for (const name of names) {
    if (!name.endsWith('.pid')) continue;
    const file = path.join(dir, name);
    const record = readPidFile(file);
    if (record && isAlive(record)) found.push({ file, record });
    else removePidFile(file);
  }
  return found;
}

/** SIGKILL to a child's whole process group (each child leads its own), falling back to the pid alone. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // It has exited meanwhile.
    }
  }
}
