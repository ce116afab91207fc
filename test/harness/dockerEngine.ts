import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { eventually } from './eventually.js';

const execFileAsync = promisify(execFile);
/** A generous bound on dockerd's start (it may migrate its data root), never a pass/fail timing. */
const START_DEADLINE_MS = 120_000;

/**
 * A Docker engine for the tests of our images: the one that already answers (DOCKER_HOST or the default socket),
 * else a dockerd of our own, as root, the way this machine family runs it: no bridge and no iptables (every
 * container is on the host network, on loopback), its data root in the bootstrap cache so that the base image
 * and the build's layers are kept from one run to the next, its sockets in a temporary dir.
 */
export class DockerEngine {
  /** The environment for the docker CLI: DOCKER_HOST names our own daemon. */
  readonly env: NodeJS.ProcessEnv;
  readonly #child: ChildProcess | undefined;
  readonly #runDir: string | undefined;

  private constructor(env: NodeJS.ProcessEnv, child?: ChildProcess, runDir?: string) {
    this.env = env;
    this.#child = child;
    this.#runDir = runDir;
  }

  static async start(): Promise<DockerEngine> {
    if (await answers(process.env)) return new DockerEngine({ ...process.env });
    if (process.getuid?.() !== 0)
      throw new Error('no Docker engine answers, and starting dockerd needs root');
    const runDir = await mkdtemp(path.join(tmpdir(), 'ucc-dockerd-'));
    const cache = process.env.UCC_CACHE_DIR ?? path.join(homedir(), '.cache', 'opivoice-ucc');
    const dataRoot = path.join(cache, 'docker');
    await mkdir(dataRoot, { recursive: true });
    const log = await open(path.join(runDir, 'dockerd.log'), 'w');
    const socket = path.join(runDir, 'docker.sock');
    const child = spawn(
      'dockerd',
      [
        `--data-root=${dataRoot}`,
        `--exec-root=${path.join(runDir, 'exec')}`,
        `--pidfile=${path.join(runDir, 'docker.pid')}`,
        `--host=unix://${socket}`,
        '--bridge=none',
        '--iptables=false',
        '--ip6tables=false',
      ],
      { stdio: ['ignore', log.fd, log.fd] },
    );
    // Listened to before the next await: 'spawn' (or 'error') comes on a later tick, and would be missed.
    const spawned = Promise.race([
      once(child, 'spawn'),
      once(child, 'error').then(([err]) => Promise.reject(err as Error)),
    ]);
    await log.close();
    const engine = new DockerEngine({ ...process.env, DOCKER_HOST: `unix://${socket}` }, child, runDir);
    try {
      await spawned;
      await eventually('dockerd answers', START_DEADLINE_MS, async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error('dockerd exited');
        return (await answers(engine.env)) ? true : undefined;
      });
    } catch (err) {
      const tail = await readFile(path.join(runDir, 'dockerd.log'), 'utf8').catch(() => '');
      await engine.close();
      throw new Error(`dockerd did not start: ${String(err)}\n${tail.slice(-2_000)}`);
    }
    return engine;
  }

  /** Runs the docker CLI against this engine; resolves with its trimmed stdout. */
  async docker(...args: string[]): Promise<string> {
    const { stdout } = await execFileAsync('docker', args, { env: this.env, maxBuffer: 16 * 1024 * 1024 });
    return stdout.trim();
  }

  /** Stops our own dockerd (it stops its containerd and containers); an engine found running is left alone. */
  async close(): Promise<void> {
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    if (this.#runDir) {
      // dockerd leaves its network namespace bind-mounted under the exec root (exec/netns/default).
      const runDir = this.#runDir;
      const mounts = (await readFile('/proc/self/mounts', 'utf8'))
        .split('\n')
        .map((line) => line.split(' ')[1] ?? '')
        .filter((mount) => mount.startsWith(`${runDir}/`));
      for (const mount of mounts.reverse())
        await execFileAsync('umount', ['-l', mount]).catch(() => undefined);
      await rm(runDir, { recursive: true, force: true });
    }
  }
}

async function answers(env: NodeJS.ProcessEnv): Promise<boolean> {
  return execFileAsync('docker', ['version', '--format', '{{.Server.Version}}'], {
    env,
    timeout: 10_000,
  }).then(
    () => true,
    () => false,
  );
}
