// Smoke test of a mediasoup worker built against Debian's libraries: routers,
// WebRtcTransport, resource usage, and RTP across SRTP hops (see verify-worker.sh).
// Needs MEDIASOUP_WORKER_BIN in the environment.
import * as mediasoup from 'mediasoup';
import dgram from 'node:dgram';
import { once } from 'node:events';

const ip = '127.0.0.1';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
};

const mediaCodecs = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  },
];

async function udpSocket() {
  const s = dgram.createSocket('udp4');
  s.bind(0, ip);
  await once(s, 'listening');
  return s;
}

// RTP packet: PT 100, given ssrc/seq; payload carries a readable marker so we
// can tell plaintext from ciphertext on the wire and compare at the far end.
function rtpPacket(ssrc, seq) {
  const payload = Buffer.alloc(120, 0x20);
  payload.write(`MARKER-${ssrc}-${seq}-`, 0);
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = 100;
  h.writeUInt16BE(seq & 0xffff, 2);
  h.writeUInt32BE((seq * 960) >>> 0, 4);
  h.writeUInt32BE(ssrc, 8);
  return Buffer.concat([h, payload]);
}

// Offset of the payload: fixed header, CSRCs, header extension (never encrypted).
function rtpHeaderLen(m) {
  let len = 12 + 4 * (m[0] & 0x0f);
  if (m[0] & 0x10) len += 4 + 4 * m.readUInt16BE(len + 2);
  return len;
}

// Collect the worker's srtp-tagged log lines (libsrtp failures are logged there).
const srtpLogs = [];
mediasoup.setLogEventListeners({
  ondebug: (ns, log) => {
    if (/srtp/i.test(log)) srtpLogs.push(log);
  },
  onwarn: (ns, log) => {
    srtpLogs.push(log);
    if (!log.includes('DecryptSrtp() failed')) console.log('   worker warn:', log);
  },
  onerror: (ns, log) => console.log('   worker error:', log),
});

const worker = await mediasoup.createWorker({ logLevel: 'debug', logTags: ['srtp', 'info'] });
worker.on('died', (e) => {
  console.log('FAIL worker died', e);
  process.exit(1);
});
console.log('worker pid', worker.pid, 'bin', process.env.MEDIASOUP_WORKER_BIN);

const routerA = await worker.createRouter({ mediaCodecs });
const routerB = await worker.createRouter({ mediaCodecs });
const mimes = [...new Set(routerA.rtpCapabilities.codecs.map((c) => c.mimeType))];
check(
  ['audio/opus', 'video/VP8', 'video/H264'].every((m) => mimes.includes(m)),
  `router codecs: ${mimes.join(' ')}`,
);

// WebRtcTransport on UDP 127.0.0.1.
const wrt = await routerA.createWebRtcTransport({ listenInfos: [{ protocol: 'udp', ip }] });
const [wst] = await wrt.getStats();
check(
  wst.type === 'webrtc-transport' && wrt.iceCandidates[0].port > 0,
  `WebRtcTransport ${wrt.iceCandidates[0].ip}:${wrt.iceCandidates[0].port}/udp stats: type=${wst.type} iceState=${wst.iceState} dtlsState=${wst.dtlsState}`,
);
const ru = await worker.getResourceUsage();
check(ru.ru_maxrss > 0, `worker.getResourceUsage(): ru_maxrss=${ru.ru_maxrss} ru_utime=${ru.ru_utime}`);

// Sender of plain RTP into a comedia PlainTransport producer on routerA.
async function ingress(ssrc) {
  const t = await routerA.createPlainTransport({
    listenInfo: { protocol: 'udp', ip },
    rtcpMux: true,
    comedia: true,
  });
  const producer = await t.produce({
    kind: 'audio',
    rtpParameters: {
      codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }],
      encodings: [{ ssrc }],
    },
  });
  return { t, producer };
}

// Plain egress on routerB to a Node UDP receiver that checks payloads.
async function egress(producerId, label) {
  const rx = await udpSocket();
  const got = { packets: 0, intact: 0 };
  rx.on('message', (m) => {
    if (m.length < 12 || ((m[1] & 0x7f) >= 72 && (m[1] & 0x7f) <= 76)) return; // RTCP
    got.packets++;
    if (m.subarray(rtpHeaderLen(m)).toString('latin1').startsWith('MARKER-')) got.intact++;
  });
  const t = await routerB.createPlainTransport({
    listenInfo: { protocol: 'udp', ip },
    rtcpMux: true,
    comedia: false,
  });
  await t.connect({ ip, port: rx.address().port });
  const consumer = await t.consume({ producerId, rtpCapabilities: routerB.rtpCapabilities });
  return { rx, got, t, consumer, label };
}

async function sendRtp(port, ssrc, n) {
  const tx = await udpSocket();
  for (let seq = 1; seq <= n; seq++) {
    tx.send(rtpPacket(ssrc, seq), port, ip);
    await sleep(20);
  }
  tx.close();
}

// Test 1: two PlainTransports with SRTP, one per router, connected through a
// Node UDP relay that inspects what crosses the wire.
async function plainSrtpHop(suite, ssrc, tagLen) {
  console.log(`-- PlainTransport SRTP hop, ${suite}`);
  const { t: inT, producer } = await ingress(ssrc);
  const logStart = srtpLogs.length;
  const opts = {
    listenInfo: { protocol: 'udp', ip },
    rtcpMux: true,
    comedia: false,
    enableSrtp: true,
    srtpCryptoSuite: suite,
  };
  const a = await routerA.createPlainTransport(opts);
  const b = await routerB.createPlainTransport(opts);
  check(
    a.srtpParameters?.cryptoSuite === suite,
    `local srtpParameters.cryptoSuite = ${a.srtpParameters?.cryptoSuite}`,
  );

  const relay = await udpSocket();
  const wire = { ab: 0, abPlain: 0, abLenOk: 0, abRtcp: 0, ba: 0 };
  relay.on('message', (m, rinfo) => {
    if (rinfo.port === a.tuple.localPort) {
      wire.ab++;
      const pt = m[1] & 0x7f;
      if (pt >= 72 && pt <= 76) wire.abRtcp++;
      else {
        if (m.includes('MARKER-')) wire.abPlain++;
        if (m.length - rtpHeaderLen(m) === 120 + tagLen) wire.abLenOk++;
        // Negative control: corrupt one ciphertext byte of the 10th RTP packet;
        // SRTP authentication must make routerB drop exactly that packet.
        if (wire.ab - wire.abRtcp === 10) {
          m = Buffer.from(m);
          m[rtpHeaderLen(m) + 5] ^= 0x01;
        }
      }
      relay.send(m, b.tuple.localPort, ip);
    } else if (rinfo.port === b.tuple.localPort) {
      wire.ba++;
      relay.send(m, a.tuple.localPort, ip);
    }
  });
  const relayPort = relay.address().port;
  await a.connect({ ip, port: relayPort, srtpParameters: b.srtpParameters });
  await b.connect({ ip, port: relayPort, srtpParameters: a.srtpParameters });

  const consumerA = await a.consume({ producerId: producer.id, rtpCapabilities: routerA.rtpCapabilities });
  const producerB = await b.produce({ kind: 'audio', rtpParameters: consumerA.rtpParameters });
  const out = await egress(producerB.id, suite);

  await sendRtp(inT.tuple.localPort, ssrc, 150); // 3 s of 20 ms packets
  await sleep(2500); // let an RTCP round trip happen

  const [cA] = await consumerA.getStats().then((s) => s.filter((x) => x.type === 'outbound-rtp'));
  const [pB] = await producerB.getStats();
  const [bst] = await b.getStats();
  const [cB] = await out.consumer.getStats().then((s) => s.filter((x) => x.type === 'outbound-rtp'));
  console.log(
    `   wire A->B: ${wire.ab} datagrams (${wire.abRtcp} RTCP), plaintext markers seen: ${wire.abPlain}, ` +
      `payload = 120+${tagLen} bytes: ${wire.abLenOk}; wire B->A: ${wire.ba} datagrams`,
  );
  console.log(
    `   consumerA packetCount=${cA?.packetCount} rtt=${cA?.roundTripTime}; plainB rtpBytesReceived=${bst.rtpBytesReceived}; ` +
      `producerB packetCount=${pB?.packetCount}; consumerB packetCount=${cB?.packetCount}; ` +
      `receiver got ${out.got.packets} RTP, ${out.got.intact} with intact payload`,
  );
  check(
    wire.ab >= 150 && wire.abPlain === 0 && wire.abLenOk >= 150,
    `${suite}: encrypted RTP on the wire (no plaintext, +${tagLen} byte tag)`,
  );
  const logs = srtpLogs.slice(logStart);
  const authFails = logs.filter((l) => l.includes('srtp_unprotect() failed: authentication failure')).length;
  const decryptFails = logs.filter((l) => l.includes('DecryptSrtp() failed')).length;
  const otherFails = logs.filter(
    (l) =>
      l.includes('failed') &&
      !l.includes('srtp_unprotect() failed: authentication failure') &&
      !l.includes('DecryptSrtp() failed'),
  );
  check(
    pB?.packetCount === 149,
    `${suite}: routerB producer decrypted ${pB?.packetCount} of 150 packets (1 tampered)`,
  );
  check(
    authFails === 1 && decryptFails === 1,
    `${suite}: tampered packet rejected by libsrtp (${authFails} x 'authentication failure')`,
  );
  check(out.got.intact === 149, `${suite}: ${out.got.intact} packets arrived intact after the SRTP hop`);
  check(
    wire.abRtcp > 0 && wire.ba > 0 && otherFails.length === 0,
    `${suite}: SRTCP both ways (A->B ${wire.abRtcp}, B->A ${wire.ba}), no other SRTP/SRTCP failure logged` +
      (otherFails.length ? `: ${otherFails.join(' | ')}` : ''),
  );
  console.log(`   consumerA roundTripTime (from SR/RR over SRTCP): ${cA?.roundTripTime} ms`);
  relay.close();
  out.rx.close();
  return producer;
}

await plainSrtpHop('AEAD_AES_256_GCM', 0x11111111, 16);
await plainSrtpHop('AES_CM_128_HMAC_SHA1_80', 0x22222222, 10);

// Test 2: router.pipeToRouter with enableSrtp (PipeTransports, SRTP).
{
  console.log('-- pipeToRouter with enableSrtp');
  const ssrc = 0x33333333;
  const { t: inT, producer } = await ingress(ssrc);
  const pipes = [];
  routerA.observer.on('newtransport', (t) => pipes.push(t));
  routerB.observer.on('newtransport', (t) => pipes.push(t));
  const { pipeConsumer, pipeProducer } = await routerA.pipeToRouter({
    producerId: producer.id,
    router: routerB,
    enableSrtp: true,
    keepId: false, // both routers live in one worker
    listenInfo: { protocol: 'udp', ip },
  });
  check(
    pipes.length === 2 &&
      pipes.every((t) => t.constructor.name.startsWith('PipeTransport') && t.srtpParameters?.keyBase64),
    `pipe transports with SRTP: ${pipes.map((t) => `${t.constructor.name}/${t.srtpParameters?.cryptoSuite}`).join(', ')}`,
  );
  const out = await egress(pipeProducer.id, 'pipe');
  await sendRtp(inT.tuple.localPort, ssrc, 100);
  await sleep(800);
  const [pc] = await pipeConsumer.getStats().then((s) => s.filter((x) => x.type === 'outbound-rtp'));
  const [pp] = await pipeProducer.getStats();
  console.log(
    `   pipeConsumer packetCount=${pc?.packetCount}; pipeProducer packetCount=${pp?.packetCount}; receiver intact=${out.got.intact}`,
  );
  check(
    pp?.packetCount >= 100 && out.got.intact >= 100,
    'pipeToRouter(enableSrtp): packets crossed the SRTP pipe intact',
  );
  out.rx.close();
}

const ru2 = await worker.getResourceUsage();
check(!worker.closed && ru2.ru_maxrss > 0, 'worker still alive and answering');
worker.close();
console.log(failures === 0 ? 'ALL CHECKS PASSED' : `${failures} CHECK(S) FAILED`);
process.exit(failures === 0 ? 0 : 1);
