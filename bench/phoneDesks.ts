/**
 * bench:phone, desk ↔ desk: two baresip desk phones calling each other through the embedded Kamailio and
 * rtpengine. The UCC server is not in the SIP or RTP path, so it is not started: the phones' credentials go into
 * Kamailio's htable as KamailioPbx puts them. Every time is taken by this process when it sends a command or
 * receives an event over ctrl_tcp (loopback, well under a millisecond).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../server/config.js';
import { KamailioService } from '../server/stack/KamailioService.js';
import { RtpengineService } from '../server/stack/RtpengineService.js';
import { KamailioRpc } from '../server/telephony/KamailioRpc.js';
import { digestHa1 } from '../server/telephony/SipCredential.js';
import { BaresipPhone } from '../test/harness/baresip.js';
import { machine, say } from './harness.js';
import { figure, timeOf, type Half } from './phoneHalf.js';

const DOMAIN = 'bench.test';

export async function deskHalf(count: number): Promise<Half> {
  const config = loadConfig({
    UCC_DATA_DIR: tmpdir(),
    UCC_JWT_SECRET: randomBytes(32).toString('base64url'),
    MATRIX_BRIDGE_URL: 'http://127.0.0.1:1',
    LOG_LEVEL: 'warn',
  });
  if (config.telephony.mode !== 'embedded') throw new Error('kamailio/rtpengine are not installed');
  const dataDir = await mkdtemp(path.join(tmpdir(), 'ucc-bench-phone-'));
  const logger = pino({ level: 'warn' });
  const cleanup: (() => Promise<unknown>)[] = [() => rm(dataDir, { recursive: true, force: true })];
  try {
    const rtpengine = await RtpengineService.create({
      bin: config.telephony.rtpengineBin,
      dataDir,
      portMin: 0,
      portMax: 0,
      logger,
      startTimeoutMs: 15_000,
    });
    cleanup.unshift(() => rtpengine.stop());
    const rpcToken = randomBytes(16).toString('hex');
    const kamailio = await KamailioService.create({
      bin: config.telephony.kamailioBin,
      dataDir,
      domain: DOMAIN,
      rtpengineNgPort: rtpengine.ngPort,
      rpcToken,
      logger,
      startTimeoutMs: 15_000,
    });
    cleanup.unshift(() => kamailio.stop());
    const rpc = new KamailioRpc(`http://127.0.0.1:${kamailio.endpoint.sipPort}/RPC`, rpcToken);
    const phone = async (extension: string, toneHz: number): Promise<BaresipPhone> => {
      const password = randomBytes(12).toString('hex');
      await rpc.call('htable.sets', ['creds', extension, digestHa1(extension, DOMAIN, password)]);
      const p = await BaresipPhone.start({
        dir: path.join(dataDir, extension),
        extension,
        password,
        domain: DOMAIN,
        proxyPort: kamailio.endpoint.sipPort,
        toneHz,
        // Longer than any call here: each call ends by a hangup, never by the file's end.
        toneMs: 20_000,
      });
      cleanup.unshift(() => p.stop());
      await p.next('REGISTER_OK');
      return p;
    };
    const caller = await phone('201', 440);
    const callee = await phone('202', 660);

    const postDial: number[] = [];
    const toCaller: number[] = [];
    const toCallee: number[] = [];
    const before = machine();
    for (let i = 0; i < count; i++) {
      caller.clearEvents();
      callee.clearEvents();
      // Each wait starts before the command that causes its event: baresip's answer to `dial` reaches us about
      // 44 ms after the command, when the callee has rung long before; waiting for it first timed the answer.
      const ringing = timeOf(callee.next('CALL_INCOMING'));
      const dialled = performance.now();
      await caller.dial(callee.extension);
      postDial.push((await ringing) - dialled);
      const atCaller = timeOf(caller.next('CALL_RTPESTAB'));
      const atCallee = timeOf(callee.next('CALL_RTPESTAB'));
      const answered = performance.now();
      await callee.command('accept');
      toCaller.push((await atCaller) - answered);
      toCallee.push((await atCallee) - answered);
      await caller.command('hangup');
      await Promise.all([caller.next('CALL_CLOSED'), callee.next('CALL_CLOSED')]);
      if ((i + 1) % 10 === 0) say(`desk ↔ desk: ${i + 1}/${count} calls`);
    }
    return {
      title: 'desk phone ↔ desk phone',
      method: [
        `${count} calls between two baresip desk phones (PCMA) through Kamailio and rtpengine on loopback; the ` +
          'UCC server is not started (it is not in the SIP or RTP path). Post-dial delay: the caller’s `dial` → ' +
          'the callee’s CALL_INCOMING. Answer → first audio: the callee’s `accept` → CALL_RTPESTAB, which baresip ' +
          'raises on the first RTP packet it receives. Every time is taken by the bench when it sends the command ' +
          'or receives the event over ctrl_tcp; the wait for an event starts before the command is sent, since ' +
          'baresip’s answer to a command can come tens of ms after the events it caused (about 44 ms for `dial`).',
      ],
      calls: count,
      figures: [
        figure('post-dial delay: dial → ringing at the callee (ms)', postDial),
        figure("answer → callee's first RTP packet at the caller (ms)", toCaller),
        figure("answer → caller's first RTP packet at the callee (ms)", toCallee),
      ],
      facts: {},
      machine: { before, after: machine() },
    };
  } finally {
    for (const step of cleanup) await step().catch((err: unknown) => say(`clean-up failed: ${String(err)}`));
  }
}
