import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KamailioService } from '../../server/stack/KamailioService.js';
import type { DialPlan, TrunkAuth } from '../../server/stack/kamailioDialPlan.js';
import { RtpengineService } from '../../server/stack/RtpengineService.js';
import type { SipPasswordView } from '../../shared/schemas/calls.js';
import { BaresipPhone } from './baresip.js';
import type { ServerFixture, TestUser } from './serverFixture.js';
import { testStack } from './testStack.js';

export interface PhoneEdge {
  dataDir: string;
  kamailio: KamailioService;
  rtpengine: RtpengineService;
  stop: () => Promise<void>;
}

export const TEST_SIP_DOMAIN = 'ucc.test';

export type PhoneEdgeOptions = { noAnswerTimeoutMs?: number; dialPlan?: DialPlan; trunkAuth?: TrunkAuth };

/**
 * The real telephony edge for one suite: rtpengine and Kamailio as the embedded stack starts them, supervised,
 * with a fast restart and a short no-answer timeout. Only the telephony suites pay for it.
 */
export async function startPhoneEdge(options: PhoneEdgeOptions = {}): Promise<PhoneEdge> {
  const { config, logger } = testStack();
  if (config.telephony.mode !== 'embedded')
    throw new Error('kamailio/rtpengine are not installed: run scripts/bootstrap');
  const dataDir = await mkdtemp(path.join(tmpdir(), 'ucc-phone-'));
  const restart = { initialDelayMs: 100, maxDelayMs: 1_000, stableAfterMs: 60_000 };
  const rtpengine = await RtpengineService.create({
    bin: config.telephony.rtpengineBin,
    dataDir,
    portMin: 0,
    portMax: 0,
    logger,
    startTimeoutMs: 15_000,
    restart,
  });
  const kamailio = await KamailioService.create({
    bin: config.telephony.kamailioBin,
    dataDir,
    domain: TEST_SIP_DOMAIN,
    rtpengineNgPort: rtpengine.ngPort,
    rpcToken: 'test-rpc-token-0123456789',
    noAnswerTimeoutMs: options.noAnswerTimeoutMs ?? 2_000,
    ...(options.dialPlan ? { dialPlan: options.dialPlan } : {}),
    trunkAuth: options.trunkAuth,
    logger,
    startTimeoutMs: 15_000,
    restart,
  }).catch(async (err: unknown) => {
    await rtpengine.stop();
    throw err;
  });
  return {
    dataDir,
    kamailio,
    rtpengine,
    stop: async () => {
      await Promise.allSettled([kamailio.stop(), rtpengine.stop()]);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** One JSON-RPC call to the edge's Kamailio (`/RPC`, with its token): the answer's result and error. */
export async function edgeRpc(
  edge: PhoneEdge,
  method: string,
  params: (string | number)[] = [],
): Promise<{ result?: unknown; error?: unknown }> {
  const res = await fetch(`http://127.0.0.1:${edge.kamailio.endpoint.sipPort}/RPC`, {
    method: 'POST',
    headers: { 'X-Ucc-Rpc-Token': edge.kamailio.endpoint.rpcToken },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return (await res.json()) as { result?: unknown; error?: unknown };
}

/** Whether the edge has a binding for `extension` (its usrloc answers `ul.lookup`). */
export async function isRegistered(edge: PhoneEdge, extension: string): Promise<boolean> {
  const answer = await edgeRpc(edge, 'ul.lookup', ['location', extension]);
  return answer.result !== undefined && answer.error === undefined;
}

/** The user's SIP password, made afresh by the API (as a user sets up a desk phone). */
export async function sipPasswordOf(fx: Pick<ServerFixture, 'api'>, user: TestUser): Promise<string> {
  const res = await fx.api('POST', '/api/telephony/me/password', { token: user.token });
  if (res.status !== 201)
    throw new Error(`no SIP password for ${user.extension}: ${JSON.stringify(res.body)}`);
  return (res.body as SipPasswordView).password;
}

/**
 * A baresip desk phone for `user`, with a SIP password fresh from the API (unless `password` is given): its
 * files go in `phonesDir/<extension>`, it sends `toneHz` in every call (or, with `echo`, what it hears). Not yet
 * registered: wait for REGISTER_OK.
 */
export async function deskPhoneFor(
  fx: Pick<ServerFixture, 'api'>,
  edge: PhoneEdge,
  phonesDir: string,
  user: TestUser,
  toneHz: number,
  toneMs = 700,
  more: { password?: string; echo?: boolean } = {},
): Promise<BaresipPhone> {
  return BaresipPhone.start({
    dir: path.join(phonesDir, user.extension),
    extension: user.extension,
    password: more.password ?? (await sipPasswordOf(fx, user)),
    domain: TEST_SIP_DOMAIN,
    proxyPort: edge.kamailio.endpoint.sipPort,
    toneHz,
    toneMs,
    ...(more.echo ? { echo: true } : {}),
  });
}
