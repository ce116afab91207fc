import type { Router } from 'express';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Connection } from 'mongoose';
import type { Clock } from '../clock.js';
import type { DirectoryEvents } from '../directory/DirectoryEvents.js';
import type { NumberPlan } from '../directory/NumberPlan.js';
import type { UserModel } from '../directory/User.js';
import type { BodyParsers } from '../http/bodyParsers.js';
import type { ReadinessProbe } from '../http/readiness.js';
import type { Logger } from '../logger.js';
import type { DialPlan } from '../stack/kamailioDialPlan.js';
import { edgeAddresses, type KamailioEndpoint } from '../stack/KamailioService.js';
import { callRecordModel } from './CallRecord.js';
import { CallLog } from './CallLog.js';
import { callQueueModel, queueHolder, type CallQueueModel } from './CallQueue.js';
import { callsSeenModel } from './CallsSeen.js';
import { KamailioPbx } from './KamailioPbx.js';
import type { PbxAdapter } from './PbxAdapter.js';
import { sipCredentialModel } from './SipCredential.js';
import { SipWebSocketProxy } from './SipWebSocketProxy.js';
import { queuesRouter } from './queuesRouter.js';
import { callsRouter, telephonyRouter } from './telephonyRouter.js';
import { WebCallGuard } from './WebCallGuard.js';

export interface TelephonyDeps {
  /** The Kamailio edge to use, embedded or external; undefined when telephony is off (the call APIs answer 503). */
  kamailio: KamailioEndpoint | undefined;
  connection: Connection;
  users: UserModel;
  directoryEvents: DirectoryEvents;
  /** The numbering plan shared with users' extensions: the queues register their numbers in it. */
  numbers: NumberPlan;
  clock: Clock;
  logger: Logger;
  /** How long a web phone's call outlives its lost WebSocket (config `webPhone.reconnectGraceMs`). */
  reconnectGraceMs: number;
}

/** The phone side of the server: the PBX adapter, the call log that listens to it, and their routes. */
export class Telephony {
  readonly pbx: PbxAdapter | undefined;
  readonly callLog: CallLog;
  readonly #users: UserModel;
  readonly #queues: CallQueueModel;
  readonly #numbers: NumberPlan;
  readonly #registrar: string | undefined;
  readonly #dialPlan: DialPlan | undefined;
  readonly #sipWs: SipWebSocketProxy;
  readonly #guard: WebCallGuard;
  readonly #reconnectGraceMs: number;

  private constructor(
    parts: {
      pbx: PbxAdapter | undefined;
      callLog: CallLog;
      users: UserModel;
      queues: CallQueueModel;
      numbers: NumberPlan;
    },
    sipWs: SipWebSocketProxy,
    guard: WebCallGuard,
    reconnectGraceMs: number,
    edge?: { registrar: string; dialPlan: DialPlan },
  ) {
    this.pbx = parts.pbx;
    this.callLog = parts.callLog;
    this.#users = parts.users;
    this.#queues = parts.queues;
    this.#numbers = parts.numbers;
    this.#registrar = edge?.registrar;
    this.#dialPlan = edge?.dialPlan;
    this.#sipWs = sipWs;
    this.#guard = guard;
    this.#reconnectGraceMs = reconnectGraceMs;
  }

  static async create(deps: TelephonyDeps): Promise<Telephony> {
    const log = deps.logger.child({ component: 'telephony' });
    const records = callRecordModel(deps.connection);
    const seen = callsSeenModel(deps.connection);
    const queues = callQueueModel(deps.connection);
    await Promise.all([records.init(), seen.init(), queues.init()]);
    deps.numbers.register('queue', queueHolder(queues));
    const numbers = deps.numbers;
    const callLog = new CallLog({
      records,
      seen,
      users: deps.users,
      queueName: async (number) => (await queues.findOne({ number }, { name: 1 }).lean())?.name,
      clock: deps.clock,
      logger: log,
    });
    // The guard is made before the PBX (the proxy needs it), and reaches the PBX once there is one.
    const made: { pbx?: PbxAdapter } = {};
    const guard = new WebCallGuard({
      graceMs: deps.reconnectGraceMs,
      clock: deps.clock,
      endWebCalls: async (userId) => {
        const user = await deps.users.findById(userId, { extension: 1 }).lean();
        return user && made.pbx ? made.pbx.endWebCalls(user.extension) : 0;
      },
      logger: log,
    });
    const sipWs = await SipWebSocketProxy.create({
      upstream: deps.kamailio ? edgeAddresses(deps.kamailio).wsUrl : undefined,
      upstreamCa: deps.kamailio?.wsCaFile ? await readFile(deps.kamailio.wsCaFile, 'utf8') : undefined,
      clock: deps.clock,
      logger: log,
      watcher: guard,
    });
    const grace = deps.reconnectGraceMs;
    if (!deps.kamailio) {
      return new Telephony(
        { pbx: undefined, callLog, users: deps.users, queues, numbers },
        sipWs,
        guard,
        grace,
      );
    }
    const kamailioPbx = await KamailioPbx.create({
      endpoint: deps.kamailio,
      credentials: sipCredentialModel(deps.connection),
      users: deps.users,
      directoryEvents: deps.directoryEvents,
      queues,
      clock: deps.clock,
      logger: log,
    });
    made.pbx = kamailioPbx;
    kamailioPbx.on('call', (event) => callLog.handle(event));
    return new Telephony(
      { pbx: kamailioPbx, callLog, users: deps.users, queues, numbers },
      sipWs,
      guard,
      grace,
      {
        registrar: `sip:${edgeAddresses(deps.kamailio).sipHost}:${deps.kamailio.sipPort}`,
        dialPlan: deps.kamailio.dialPlan,
      },
    );
  }

  /** `telephony`: whether calls can be made now (Kamailio and rtpengine both answer). */
  probes(): ReadinessProbe[] {
    const pbx = this.pbx;
    return pbx ? [{ name: 'telephony', check: () => pbx.check() }] : [];
  }

  routers(body: Pick<BodyParsers, 'json'>): { path: string; router: Router }[] {
    const deps = {
      pbx: this.pbx,
      callLog: this.callLog,
      users: this.#users,
      registrar: this.#registrar,
      dialPlan: this.#dialPlan,
      sipWs: this.#sipWs,
      reconnectGraceMs: this.#reconnectGraceMs,
    };
    return [
      { path: '/calls', router: callsRouter(deps, body) },
      { path: '/telephony', router: telephonyRouter(deps) },
      {
        path: '/queues',
        router: queuesRouter(
          { queues: this.#queues, users: this.#users, numbers: this.#numbers, pbx: this.pbx },
          body,
        ),
      },
    ];
  }

  /** For the HTTP server's `upgrade` event: SIP over WebSocket on `/sip`; false leaves the request to others. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    return this.#sipWs.handleUpgrade(req, socket, head);
  }

  close(): void {
    this.#guard.close();
    this.#sipWs.close();
    this.pbx?.close();
  }
}
