/**
 * bench:sfu — how many consumers one mediasoup worker forwards to, through our sfu/ layer and through a bare
 * mediasoup script, in the same run. One sender feeds VP8 + opus RTP into a router over a PlainTransport; N
 * consumers on PlainTransports deliver to loopback UDP sinks that count packets per SSRC.
 *
 * Usage: npm run bench:sfu [-- --seconds 5 --counts 50,100,200,400,600,800]
 * Writes bench/results/sfu-<date>.json and .md, and prints the table. A benchmark, never a test.
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { pino } from 'pino';
import { MeetingMedia } from '../sfu/MeetingMedia.js';
import { MEDIA_CODECS } from '../sfu/mediaCodecs.js';
import { WorkerPool } from '../sfu/WorkerPool.js';

const VIDEO_PPS = 90; // single-packet VP8 keyframes
const AUDIO_PPS = 50; // 20 ms opus frames
const VIDEO_SSRC = 1111;
const AUDIO_SSRC = 2222;
const SINKS = 8;

interface Row {
  mode: 'ours' | 'bare';
  consumers: number;
  seconds: number;
  workerCpuPercent: number;
  forwardedPps: number;
  lossPercent: number;
  cpuPerConsumerMicros: number;
}

function args(): { seconds: number; counts: number[] } {
  const argv = process.argv.slice(2);
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    seconds: Number(value('seconds') ?? 5),
    counts: (value('counts') ?? '50,100,200,400,600,800').split(',').map(Number),
  };
}

function rtp(pt: number, seq: number, ts: number, ssrc: number, marker: boolean, size: number): Buffer {
  const packet = Buffer.alloc(12 + size);
  packet[0] = 0x80;
  packet[1] = (marker ? 0x80 : 0) | pt;
  packet.writeUInt16BE(seq & 0xffff, 2);
  packet.writeUInt32BE(ts >>> 0, 4);
  packet.writeUInt32BE(ssrc, 8);
  // VP8: a payload descriptor (start of partition 0), then a keyframe header (start code 9d 01 2a, 640x480),
  // so that consumers forward from the first packet. Opus gets filler only.
  if (pt === 101)
    Buffer.from([0x10, 0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]).copy(packet, 12);
  return packet;
}

/** Counts packets per SSRC on a few loopback sockets. */
class Sinks {
  readonly sockets: Socket[] = [];
  readonly counts = new Map<number, number>();

  static async open(): Promise<Sinks> {
    const sinks = new Sinks();
    for (let i = 0; i < SINKS; i++) {
      const socket = createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 });
      socket.on('message', (msg) => {
        // RTCP packet types 200-206 read as RTP payload types 72-78 once the marker bit is masked (RFC 5761).
        const pt = (msg[1] ?? 0) & 0x7f;
        if (msg.length < 12 || (pt >= 64 && pt <= 95)) return;
        const ssrc = msg.readUInt32BE(8);
        sinks.counts.set(ssrc, (sinks.counts.get(ssrc) ?? 0) + 1);
      });
      socket.bind(0, '127.0.0.1');
      await once(socket, 'listening');
      sinks.sockets.push(socket);
    }
    return sinks;
  }

  port(i: number): number {
    return (this.sockets[i % SINKS] as Socket).address().port;
  }

  total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  close(): void {
    for (const s of this.sockets) s.close();
  }
}

async function run(mode: 'ours' | 'bare', consumers: number, seconds: number): Promise<Row> {
  const logger = pino({ level: 'silent' });
  let worker: types.Worker;
  let router: types.Router;
  let dispose: () => void;
  if (mode === 'ours') {
    const pool = await WorkerPool.create({
      numWorkers: 1,
      listenIp: '127.0.0.1',
      webRtcPort: 0,
      logLevel: 'none',
      logger,
    });
    const media = await MeetingMedia.create({ pool, consumerThreshold: 10_000, logger });
    const first = pool.workers[0];
    const home = media.routers[0];
    if (!first || !home) throw new Error('no worker');
    worker = first.worker;
    router = home;
    dispose = () => {
      media.close();
      pool.close();
    };
  } else {
    worker = await mediasoup.createWorker({ logLevel: 'none' });
    router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    dispose = () => worker.close();
  }

  const input = await router.createPlainTransport({
    listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
    comedia: true,
    rtcpMux: true,
  });
  const video = await input.produce({
    kind: 'video',
    rtpParameters: {
      codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90_000 }],
      encodings: [{ ssrc: VIDEO_SSRC }],
    },
  });
  const audio = await input.produce({
    kind: 'audio',
    rtpParameters: {
      codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48_000, channels: 2 }],
      encodings: [{ ssrc: AUDIO_SSRC }],
    },
  });

  const sinks = await Sinks.open();
  const ssrcs: { video: number; audio: number }[] = [];
  for (let i = 0; i < consumers; i++) {
    const out = await router.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
      rtcpMux: true,
    });
    await out.connect({ ip: '127.0.0.1', port: sinks.port(i) });
    const v = await out.consume({ producerId: video.id, rtpCapabilities: router.rtpCapabilities });
    const a = await out.consume({ producerId: audio.id, rtpCapabilities: router.rtpCapabilities });
    ssrcs.push({
      video: v.rtpParameters.encodings?.[0]?.ssrc ?? 0,
      audio: a.rtpParameters.encodings?.[0]?.ssrc ?? 0,
    });
  }

  const sender = createSocket('udp4');
  const target = input.tuple.localPort;
  let sent = { video: 0, audio: 0 };
  // Warm-up: let the consumers see a first (key)frame before counting.
  const tick = (t: number): void => {
    sender.send(rtp(101, t, t * 1000, VIDEO_SSRC, true, 1000), target, '127.0.0.1');
    sent.video++;
  };
  for (let t = 0; t < 30; t++) tick(t);
  await new Promise((r) => setTimeout(r, 300));
  sinks.counts.clear();
  sent = { video: 0, audio: 0 };

  const before = await worker.getResourceUsage();
  const started = process.hrtime.bigint();
  let vSeq = 30;
  let aSeq = 0;
  const end = Date.now() + seconds * 1000;
  // 10 ms ticks: 0.9 video packets and 0.5 audio packets per tick on average.
  let vCredit = 0;
  let aCredit = 0;
  while (Date.now() < end) {
    vCredit += VIDEO_PPS / 100;
    aCredit += AUDIO_PPS / 100;
    while (vCredit >= 1) {
      tick(vSeq++);
      vCredit -= 1;
    }
    while (aCredit >= 1) {
      sender.send(rtp(100, aSeq, aSeq * 960, AUDIO_SSRC, false, 120), target, '127.0.0.1');
      aSeq++;
      sent.audio++;
      aCredit -= 1;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 500)); // let the last packets arrive
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const after = await worker.getResourceUsage();

  const expected = (sent.video + sent.audio) * consumers;
  const received = sinks.total();
  const cpuMs = after.ru_utime + after.ru_stime - (before.ru_utime + before.ru_stime);
  sender.close();
  sinks.close();
  dispose();
  return {
    mode,
    consumers,
    seconds: Number(elapsed.toFixed(2)),
    workerCpuPercent: Number(((cpuMs / 1000 / elapsed) * 100).toFixed(1)),
    forwardedPps: Math.round(received / elapsed),
    lossPercent: Number((expected === 0 ? 0 : Math.max(0, 1 - received / expected) * 100).toFixed(3)),
    cpuPerConsumerMicros: Number(((cpuMs * 1000) / elapsed / consumers).toFixed(1)),
  };
}

async function main(): Promise<void> {
  const { seconds, counts } = args();
  const rows: Row[] = [];
  for (const n of counts) {
    for (const mode of ['ours', 'bare'] as const) {
      const row = await run(mode, n, seconds);
      rows.push(row);
      process.stdout.write(`${JSON.stringify(row)}\n`);
    }
  }
  const lines = [
    `# bench:sfu — ${new Date().toISOString()}`,
    '',
    `One worker, one sender (VP8 ${VIDEO_PPS} pps + opus ${AUDIO_PPS} pps), N PlainTransport consumers, ${seconds} s each.`,
    'Loss includes what the single Node sink process could not read.',
    '',
    '| N | ours CPU % | bare CPU % | ours pps | bare pps | ours loss % | bare loss % | ours µs CPU/consumer/s | CPU ratio ours/bare |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const n of counts) {
    const ours = rows.find((r) => r.mode === 'ours' && r.consumers === n);
    const bare = rows.find((r) => r.mode === 'bare' && r.consumers === n);
    if (!ours || !bare) continue;
    const ratio =
      bare.workerCpuPercent > 0 ? (ours.workerCpuPercent / bare.workerCpuPercent).toFixed(2) : 'n/a';
    lines.push(
      `| ${n} | ${ours.workerCpuPercent} | ${bare.workerCpuPercent} | ${ours.forwardedPps} | ${bare.forwardedPps} | ${ours.lossPercent} | ${bare.lossPercent} | ${ours.cpuPerConsumerMicros} | ${ratio} |`,
    );
  }
  const table = lines.join('\n');
  process.stdout.write(`\n${table}\n`);
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  await writeFile(path.join(dir, `sfu-${stamp}.json`), JSON.stringify({ seconds, rows }, null, 2));
  await writeFile(path.join(dir, `sfu-${stamp}.md`), `${table}\n`);
}

await main();
