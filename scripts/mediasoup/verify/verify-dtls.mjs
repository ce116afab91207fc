// DTLS + SRTP into a WebRtcTransport from a werift (pure TypeScript WebRTC)
// peer acting as ICE-controlling DTLS client: the worker is the DTLS server
// and receives a ClientHello, the path that crashed with kTLS-enabled OpenSSL.
// Needs MEDIASOUP_WORKER_BIN in the environment.
import * as mediasoup from 'mediasoup';
import { RTCPeerConnection, MediaStreamTrack } from 'werift';

const ip = '127.0.0.1';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
};

let died = null;
const worker = await mediasoup.createWorker({ logLevel: 'warn' });
worker.on('died', (e) => {
  died = e;
  console.log('   worker died:', String(e));
});
const router = await worker.createRouter({
  mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 }],
});
const transport = await router.createWebRtcTransport({ listenInfos: [{ protocol: 'udp', ip }] });
const dtlsStates = [];
transport.on('dtlsstatechange', (s) => dtlsStates.push(s));

const pc = new RTCPeerConnection({ iceAdditionalHostAddresses: [ip], iceUseIpv6: false });
const track = new MediaStreamTrack({ kind: 'audio' });
const transceiver = pc.addTransceiver(track, { direction: 'sendonly' });
await pc.setLocalDescription(await pc.createOffer());
const offer = pc.localDescription.sdp;
const pick = (re) => offer.match(re)?.[1];
const fingerprint = pick(/a=fingerprint:sha-256 (\S+)/);
const opusPt = Number(pick(/a=rtpmap:(\d+) opus\/48000/i));
const ssrc = transceiver.sender.ssrc;

// The worker answers as DTLS server ("passive"), so the peer sends ClientHello.
await transport.connect({
  dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: fingerprint }] },
});

const cand = transport.iceCandidates[0];
const myFp = transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256').value;
const answer = [
  'v=0',
  'o=mediasoup 1 1 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=ice-lite',
  'a=group:BUNDLE 0',
  'a=msid-semantic: WMS *',
  `m=audio ${cand.port} UDP/TLS/RTP/SAVPF ${opusPt}`,
  `c=IN IP4 ${cand.address ?? cand.ip}`,
  'a=mid:0',
  'a=recvonly',
  'a=rtcp-mux',
  `a=ice-ufrag:${transport.iceParameters.usernameFragment}`,
  `a=ice-pwd:${transport.iceParameters.password}`,
  `a=fingerprint:sha-256 ${myFp}`,
  'a=setup:passive',
  `a=candidate:${cand.foundation} 1 udp ${cand.priority} ${cand.address ?? cand.ip} ${cand.port} typ host`,
  'a=end-of-candidates',
  `a=rtpmap:${opusPt} opus/48000/2`,
  '',
].join('\r\n');

const producer = await transport.produce({
  kind: 'audio',
  rtpParameters: {
    mid: '0',
    codecs: [{ mimeType: 'audio/opus', payloadType: opusPt, clockRate: 48000, channels: 2 }],
    encodings: [{ ssrc }],
  },
});

await pc.setRemoteDescription({ type: 'answer', sdp: answer });

// Wait for DTLS on the worker side.
for (let i = 0; i < 100 && transport.dtlsState !== 'connected' && !died; i++) await sleep(100);
check(
  !died && transport.dtlsState === 'connected',
  `worker DTLS state: ${dtlsStates.join(' -> ') || transport.dtlsState}`,
);

// Send 100 opus-sized RTP packets through werift (it applies SRTP).
let seq = 1;
for (let i = 0; i < 100 && !died; i++) {
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = opusPt;
  h.writeUInt16BE(seq++, 2);
  h.writeUInt32BE(i * 960, 4);
  h.writeUInt32BE(ssrc, 8);
  track.writeRtp(Buffer.concat([h, Buffer.alloc(80, 0x55)]));
  await sleep(20);
}
await sleep(500);
if (!died) {
  const [ts] = await transport.getStats();
  const [ps] = await producer.getStats();
  console.log(
    `   transport: iceState=${ts.iceState} dtlsState=${ts.dtlsState} iceSelectedTuple=${ts.iceSelectedTuple?.remoteIp}:${ts.iceSelectedTuple?.remotePort}` +
      ` rtpBytesReceived=${ts.rtpBytesReceived}; producer packetCount=${ps?.packetCount}`,
  );
  check(ps?.packetCount >= 90, `SRTP (keys from DTLS) decrypted by the worker: ${ps?.packetCount} packets`);
}
check(!died, 'worker survived the DTLS handshake');
await pc.close();
if (!died) worker.close();
console.log(failures === 0 ? 'ALL CHECKS PASSED' : `${failures} CHECK(S) FAILED`);
process.exit(failures === 0 ? 0 : 1);
