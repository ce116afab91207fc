import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * How every child of the stack is started, whatever it is: through `sh` to set a private umask (the files it
 * writes in the data dir are 0600, its folders 0700), then, where util-linux has it, through
 * `setpriv --pdeathsig KILL`, so that the kernel kills the child when we end in any way, SIGKILL included.
 * Both exec, so the child keeps the pid we spawned and its parent is still this process.
 */
let setprivPath: string | null | undefined;

/** Probed once: `setpriv` exists and knows `--pdeathsig` (util-linux ≥ 2.33). */
export function pdeathsigLauncher(): string | undefined {
  if (setprivPath === undefined) {
    setprivPath =
      ['/usr/bin/setpriv', '/bin/setpriv'].find(
        (bin) =>
          existsSync(bin) &&
          spawnSync(bin, ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore' }).status === 0,
      ) ?? null;
  }
  return setprivPath ?? undefined;
}

export function launchCommand(
  command: string,
  args: readonly string[],
  umask = 0o077,
): { command: string; args: string[] } {
  const setpriv = pdeathsigLauncher();
  const wrapper = setpriv ? [setpriv, '--pdeathsig', 'KILL', '--'] : [];
  return {
    command: '/bin/sh',
    args: [
      '-c',
      `umask ${umask.toString(8).padStart(3, '0')} && exec "$@"`,
      'ucc-child',
      ...wrapper,
      command,
      ...args,
    ],
  };
}
