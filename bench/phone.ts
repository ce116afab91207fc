/**
 * bench:phone: how fast the embedded phone edge (Kamailio + rtpengine) connects two baresip desk phones on
 * loopback, over N calls (default 50):
 * - post-dial delay: the caller's `dial` command → the callee's CALL_INCOMING (its phone rings);
 * - answer → first audio: the callee's `accept` → the caller's CALL_RTPESTAB, which baresip raises on the first
 *   RTP packet it receives (so the callee's first packet went through rtpengine and arrived); and the same for the
 *   callee's side (the caller starts sending on the 200 OK).
 * Every time is taken by this process when it sends the command or receives the event over ctrl_tcp (loopback,
 * well under a millisecond). The UCC server is not in the SIP or RTP path, so it is not started: the phones'
 * credentials go into Kamailio's htable as KamailioPbx puts them. Writes bench/results/phone-<date>.{json,md}.
 * Option: `-- --calls 50`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { loadConfig } from '../server/config.js';
import { KamailioService } from '../server/stack/KamailioService.js';
import { RtpengineService } from '../server/stack/RtpengineService.js';
import { KamailioRpc } from '../server/telephony/KamailioRpc.js';
import { digestHa1 } from '../server/telephony/SipCredential.js';
import { BaresipPhone } from '../test/harness/baresip.js';
import { machine, publish, run, say, summarize, wholeNumberOption, type Summary } from './harness.js';

const DOMAIN = 'bench.test';

async function main(): Promise<void> {
  const count = wholeNumberOption('calls', 50);
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
    const when = new Date();
    for (let i = 0; i < count; i++) {
      caller.clearEvents();
      callee.clearEvents();
      const dialled = performance.now();
      await caller.dial(callee.extension);
      await callee.next('CALL_INCOMING');
      postDial.push(performance.now() - dialled);
      const answered = performance.now();
      await callee.command('accept');
      await Promise.all([
        caller.next('CALL_RTPESTAB').then(() => toCaller.push(performance.now() - answered)),
        callee.next('CALL_RTPESTAB').then(() => toCallee.push(performance.now() - answered)),
      ]);
      await caller.command('hangup');
      await Promise.all([caller.next('CALL_CLOSED'), callee.next('CALL_CLOSED')]);
      if ((i + 1) % 10 === 0) say(`${i + 1}/${count} calls`);
    }

    const figures: { name: string; summary: Summary }[] = [
      { name: 'post-dial delay: dial → ringing at the callee (ms)', summary: summarize(postDial) },
      { name: "answer → callee's first RTP packet at the caller (ms)", summary: summarize(toCaller) },
      { name: "answer → caller's first RTP packet at the callee (ms)", summary: summarize(toCallee) },
    ];
    const after = machine();
    const md = [
      `# bench:phone, ${when.toISOString()}`,
      '',
      `${count} calls between two baresip desk phones (PCMA) through Kamailio and rtpengine on loopback.`,
      `Machine: ${before.cpu}, ${before.cores} cores, Node ${before.node}; load average before ` +
        `${before.loadavg.join(' ')}, after ${after.loadavg.join(' ')}.`,
      '',
      '| figure | p50 | p95 | p99 | mean | max |',
      '| --- | --- | --- | --- | --- | --- |',
      ...figures.map(
        ({ name, summary: s }) => `| ${name} | ${s.p50} | ${s.p95} | ${s.p99} | ${s.mean} | ${s.max} |`,
      ),
      '',
    ].join('\n');
    await publish('phone', when, { when, calls: count, machine: { before, after }, figures }, md);
  } finally {
    for (const step of cleanup) await step().catch((err: unknown) => say(`clean-up failed: ${String(err)}`));
  }
}

run(main);
