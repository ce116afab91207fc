import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { EmbeddedChild } from './EmbeddedChild.js';
import { runDir, writePrivateFile } from './dataDir.js';
import { kamailioConfig } from './kamailioConfig.js';
import type { DialPlan, TrunkAuth } from './kamailioDialPlan.js';
import { freePort, freeTcpUdpPort } from './ports.js';
import { DEFAULT_RESTART_POLICY, SupervisedProcess, type RestartPolicy } from './SupervisedProcess.js';

export interface KamailioOptions {
  bin: string;
  dataDir: string;
  domain: string;
  rtpengineNgPort: number;
  rpcToken: string;
  /** How long a phone rings before the caller gets 408 (default 30 s). */
  noAnswerTimeoutMs?: number;
  /** Default: Italian numbers, no trunk (external numbers fail with 503). */
  dialPlan?: DialPlan;
  /** Only into the 0600 config file: not in the endpoint, never logged or on a command line. */
  trunkAuth?: TrunkAuth | undefined;
  logger: Logger;
  startTimeoutMs: number;
  restart?: RestartPolicy;
}

/**
 * Where the server and the phones reach a Kamailio edge: the embedded one (everything on loopback, the optional
 * fields unset) or the customer's (UCC_TELEPHONY=external: every address given).
 */
export interface KamailioEndpoint {
  /** SIP over UDP and TCP, SIP over WebSocket (`/ws`) and JSON-RPC (`/RPC`), all on this port. */
  sipPort: number;
  /** The SIP host (default 127.0.0.1). */
  sipHost?: string;
  /** Default `http://127.0.0.1:<sipPort>/RPC`. */
  rpcUrl?: string;
  evapiPort: number;
  /** Default 127.0.0.1. */
  evapiHost?: string;
  /** Default `ws://127.0.0.1:<sipPort>/ws`: where our `/sip` proxy pipes the browsers' web phones. */
  wsUrl?: string;
  /** A PEM file of the CA that signed a `wss://` wsUrl's certificate, trusted besides the system's. */
  wsCaFile?: string | undefined;
  domain: string;
  rpcToken: string;
  bridgeUser: string;
  /**
   * rtpengine's ng control port (UDP, loopback), which Kamailio drives; the server only pings it. Undefined for an
   * external edge: its media relay is its own business (Kamailio's rtpengine module checks it).
   */
  rtpengineNgPort: number | undefined;
  /** How numbers are read and whether external ones have a trunk to go to. */
  dialPlan: DialPlan;
}

const DEFAULT_DIAL_PLAN: DialPlan = { country: 'IT', trunkUri: undefined, outboundPrefix: '' };

/** The user part of the click-to-call controller URI; an external edge's config must use the same. */
export const BRIDGE_USER = 'ucc-bridge';

/** The edge's addresses with the embedded defaults filled in. */
export function edgeAddresses(e: KamailioEndpoint): {
  sipHost: string;
  rpcUrl: string;
  evapiHost: string;
  wsUrl: string;
} {
  const sipHost = e.sipHost ?? '127.0.0.1';
  return {
    sipHost,
    rpcUrl: e.rpcUrl ?? `http://127.0.0.1:${e.sipPort}/RPC`,
    evapiHost: e.evapiHost ?? '127.0.0.1',
    wsUrl: e.wsUrl ?? `ws://127.0.0.1:${e.sipPort}/ws`,
  };
}

/**
 * The embedded SIP edge: Kamailio 5.6 on loopback with a generated config (see kamailioConfig.ts). It keeps no
 * state on disk: credentials live in an htable the server fills, so after a restart the server provisions them
 * again (KamailioPbx does, when its evapi connection comes back).
 */
export class KamailioService extends EmbeddedChild {
  readonly endpoint: KamailioEndpoint;

  private constructor(proc: SupervisedProcess, endpoint: KamailioEndpoint) {
    super(proc, 5_000);
    this.endpoint = endpoint;
  }

  static async create(options: KamailioOptions): Promise<KamailioService> {
    const dir = path.join(options.dataDir, 'kamailio');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // Chosen once: a restart listens on the same ports, so phones re-register where they were.
    // SIP listens on UDP and TCP with one number: both must be free.
    const sipPort = await freeTcpUdpPort();
    const evapiPort = await freePort();
    const endpoint: KamailioEndpoint = {
      sipPort,
      evapiPort,
      domain: options.domain,
      rpcToken: options.rpcToken,
      bridgeUser: BRIDGE_USER,
      rtpengineNgPort: options.rtpengineNgPort,
      dialPlan: options.dialPlan ?? DEFAULT_DIAL_PLAN,
    };
    // The RPC token and the trunk's password are in the config file (0600), never on the command line.
    const configFile = path.join(dir, 'kamailio.cfg');
    await writePrivateFile(
      configFile,
      kamailioConfig({
        sipPort,
        evapiPort,
        rtpengineNgPort: options.rtpengineNgPort,
        domain: options.domain,
        bridgeUser: BRIDGE_USER,
        rpcToken: options.rpcToken,
        noAnswerTimeoutMs: options.noAnswerTimeoutMs ?? 30_000,
        children: 2,
        dialPlan: endpoint.dialPlan,
        trunkAuth: options.trunkAuth,
      }),
    );
    const run = await runDir(options.dataDir);
    // -DD: no fork to the background, so the supervisor's child is the main process; -E: log to stderr. No -P:
    // in its PID namespace Kamailio is pid 1, and a stale pidfile saying "1" would stop the next start.
    const kamailioArgs = ['-DD', '-E', '-f', configFile, '-Y', dir, '-m', '64'];
    const wrapper = pidNamespaceWrapper();
    const proc = await SupervisedProcess.start(
      {
        name: 'kamailio',
        command: wrapper?.[0] ?? options.bin,
        args: wrapper ? [...wrapper.slice(1), options.bin, ...kamailioArgs] : kamailioArgs,
        logFile: path.join(options.dataDir, 'kamailio.log'),
        pidFile: path.join(run, 'kamailio.pid'),
        logger: options.logger,
        startTimeoutMs: options.startTimeoutMs,
        healthCheck: () => kamailioRpcUp(sipPort, options.rpcToken),
      },
      options.restart ?? DEFAULT_RESTART_POLICY,
    );
    return new KamailioService(proc, endpoint);
  }
}

let wrapperProbe: string[] | null | undefined;

/**
 * Kamailio's worker processes outlive their main process when it is killed (the kernel's pdeathsig is not
 * inherited across fork). In a PID namespace of its own, the main process is the namespace's init: when it dies,
 * the kernel kills every worker, and `--kill-child` ends it when the `unshare` we supervise dies. Probed once; as
 * root no user namespace is needed. Without `unshare`, Kamailio runs as is (and a SIGKILL of the server can leave
 * workers behind until the next start ends them through the pidfile's process group).
 */
export function pidNamespaceWrapper(): string[] | undefined {
  if (wrapperProbe === undefined) {
    const bin = ['/usr/bin/unshare', '/bin/unshare'].find((b) => existsSync(b));
    const candidates = bin
      ? [
          [bin, '--pid', '--fork', '--kill-child'],
          [bin, '--user', '--map-root-user', '--pid', '--fork', '--kill-child'],
        ]
      : [];
    wrapperProbe =
      candidates.find(
        (c) => spawnSync(c[0] ?? '', [...c.slice(1), 'true'], { stdio: 'ignore' }).status === 0,
      ) ?? null;
  }
  return wrapperProbe ?? undefined;
}

/** A real JSON-RPC call (`core.uptime`), not just an open port; `target`: a loopback port or the RPC URL. */
export async function kamailioRpcUp(target: number | string, token: string): Promise<boolean> {
  const url = typeof target === 'number' ? `http://127.0.0.1:${target}/RPC` : target;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Ucc-Rpc-Token': token },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'core.uptime' }),
    signal: AbortSignal.timeout(1_000),
  });
  await res.text();
  return res.ok;
}
