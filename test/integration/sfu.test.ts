import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import type { types } from 'mediasoup';
import { MeetingMedia } from '../../sfu/MeetingMedia.js';
import { ParticipantMedia } from '../../sfu/ParticipantMedia.js';
import { WorkerPool } from '../../sfu/WorkerPool.js';
import { testStack } from '../harness/testStack.js';

const OPUS_PT = 100;

/** What a browser would send for one opus track: enough for mediasoup to create a producer. */
function opusParameters(ssrc: number): types.RtpParameters {
  return {
    codecs: [{ mimeType: 'audio/opus', payloadType: OPUS_PT, clockRate: 48_000, channels: 2 }],
    encodings: [{ ssrc }],
  };
}

/** A minimal RTP packet: 12-byte header and a 20-byte payload. */
function rtpPacket(seq: number, ssrc: number): Buffer {
  const packet = Buffer.alloc(32);
  packet[0] = 0x80;
  packet[1] = OPUS_PT;
  packet.writeUInt16BE(seq & 0xffff, 2);
  packet.writeUInt32BE(seq * 960, 4);
  packet.writeUInt32BE(ssrc, 8);
  packet.fill(0xab, 12);
  return packet;
}

describe('SFU media (real workers)', () => {
  let media: MeetingMedia;
  const participants: ParticipantMedia[] = [];
  const udp: UdpSocket[] = [];

  beforeEach(async () => {
    media = await MeetingMedia.create({
      pool: testStack().pool,
      consumerThreshold: 1,
      logger: testStack().logger,
    });
  });

  afterEach(() => {
    for (const p of participants.splice(0)) p.close();
    for (const s of udp.splice(0)) s.close();
    media.close();
  });

  async function participant(id: string): Promise<ParticipantMedia> {
    const p = await ParticipantMedia.create(id, media);
    participants.push(p);
    p.setRtpCapabilities(media.rtpCapabilities);
    return p;
  }

  it('spreads a meeting over a second worker past the consumer threshold, piping producers across', async () => {
    const a = await participant('a');
    const aSend = await a.createTransport('send');
    const mic = await a.produce(aSend.id, 'audio', opusParameters(1111), 'mic');

    const b = await participant('b');
    await b.createTransport('recv');
    assert.equal(b.routerId, a.routerId, 'under the threshold, everyone shares the first router');
    assert.ok(await b.consume(mic));

    const c = await participant('c');
    assert.notEqual(c.routerId, a.routerId, 'past the threshold, a newcomer gets a router on another worker');
    assert.equal(media.routers.length, 2);
    const workers = new Set(await Promise.all(media.routers.map(async (r) => (await r.dump()).id)));
    assert.equal(workers.size, 2);
    await c.createTransport('recv');
    const consumed = await c.consume(mic);
    assert.ok(consumed, 'the producer is consumable on the second router through the pipe');
    assert.equal(consumed.producerId, mic.id);
    assert.equal(consumed.producerOwner, 'a');
    assert.equal(consumed.source, 'mic');
  });

  it('carries RTP from a producer on one router to a consumer on another, across workers', async () => {
    const [home] = media.routers;
    assert.ok(home);
    // Sender: a PlainTransport on the home router, fed by a Node UDP socket.
    const input = await home.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
      comedia: true,
      rtcpMux: true,
    });
    const producer = await input.produce({ kind: 'audio', rtpParameters: opusParameters(2222) });
    // A second router on the other worker, as placeParticipant creates past the threshold.
    const a = await participant('a');
    await a.createTransport('recv');
    assert.ok(await a.consume(producer)); // reaches the threshold of 1 consumer on the home router
    await media.publish(producer, home);
    const far = await participant('far');
    assert.notEqual(far.routerId, home.id);
    const farRouter = media.routers.find((r) => r.id === far.routerId);
    assert.ok(farRouter);

    // Receiver: a PlainTransport on the far router, sending to a counting UDP sink.
    const sink = createSocket('udp4');
    udp.push(sink);
    sink.bind(0, '127.0.0.1');
    await once(sink, 'listening');
    let received = 0;
    sink.on('message', () => received++);
    const output = await farRouter.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
      rtcpMux: true,
    });
    await output.connect({ ip: '127.0.0.1', port: sink.address().port });
    const consumer = await output.consume({
      producerId: producer.id,
      rtpCapabilities: farRouter.rtpCapabilities,
    });

    const sender = createSocket('udp4');
    udp.push(sender);
    for (let seq = 1; seq <= 100; seq++) {
      sender.send(rtpPacket(seq, 2222), input.tuple.localPort, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 2));
    }
    for (let i = 0; i < 50 && received < 90; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(received >= 90, `only ${received} of 100 packets crossed the pipe`);
    const [stats] = await consumer.getStats();
    assert.ok((stats?.packetCount ?? 0) >= 90);
  });

  it('closes everything a participant owns, leaving no transport behind', async () => {
    const a = await participant('a');
    const send = await a.createTransport('send');
    await a.createTransport('recv');
    await a.produce(send.id, 'audio', opusParameters(3333), 'mic');
    const router = media.routers.find((r) => r.id === a.routerId);
    assert.ok(router);
    assert.equal((await router.dump()).transportIds.length, 2);
    a.close();
    a.close();
    assert.deepEqual(a.counts, { transports: 0, producers: 0, consumers: 0 });
    assert.equal((await router.dump()).transportIds.length, 0);
    assert.equal(media.producers().length, 0);
  });

  it('closes every router of the meeting on close', async () => {
    await participant('a');
    const routers = [...media.routers];
    media.close();
    media.close();
    assert.ok(routers.every((r) => r.closed));
  });
});

describe('SFU media when a worker dies', () => {
  let pool: WorkerPool;
  let media: MeetingMedia;

  beforeEach(async () => {
    pool = await WorkerPool.create({
      numWorkers: 2,
      listenIp: '127.0.0.1',
      webRtcPort: 0,
      logLevel: 'warn',
      logger: testStack().logger,
    });
    media = await MeetingMedia.create({ pool, consumerThreshold: 500, logger: testStack().logger });
  });

  afterEach(() => {
    media.close();
    pool.close();
  });

  it('reports the lost router and rebuilds the meeting on a live worker', async () => {
    const [router] = media.routers;
    assert.ok(router);
    const lost = once(media, 'routerlost');
    let victim: number | undefined;
    for (const w of pool.workers) {
      if ((await w.worker.dump()).routerIds.includes(router.id)) victim = w.worker.pid;
    }
    assert.ok(victim);
    process.kill(victim, 'SIGKILL');
    const [routerId] = (await lost) as [string];
    assert.equal(routerId, router.id);
    await media.routed();
    assert.equal(media.routers.length, 1);
    const [rebuilt] = media.routers;
    assert.ok(rebuilt && !rebuilt.closed && rebuilt.id !== router.id);
  });

  it('with every worker killed at once, a participant placed before the rebuild waits for it instead of failing', async () => {
    const [router] = media.routers;
    assert.ok(router);
    const lost = once(media, 'routerlost');
    const replaced = once(pool, 'workerreplaced');
    for (const w of pool.workers) process.kill(w.worker.pid, 'SIGKILL');
    await lost;
    // What a client does on media.restart: ask again at once, while no worker is alive yet.
    assert.throws(() => media.rtpCapabilities, { name: 'MediaUnavailableError' });
    const participant = await ParticipantMedia.create('p', media);
    await replaced;
    const [rebuilt] = media.routers;
    assert.ok(rebuilt && !rebuilt.closed && rebuilt.id !== router.id);
    assert.equal(participant.routerId, rebuilt.id);
    assert.ok(media.rtpCapabilities.codecs?.some((c) => c.mimeType === 'audio/opus'));
    participant.close();
  });

  it('a wait for the rebuild ends with MediaUnavailableError when the meeting closes meanwhile, and no router is left', async () => {
    const lost = once(media, 'routerlost');
    for (const w of pool.workers) process.kill(w.worker.pid, 'SIGKILL');
    await lost;
    const waiting = media.routed();
    media.close();
    await assert.rejects(waiting, { name: 'MediaUnavailableError' });
    await once(pool, 'workerreplaced');
    for (const w of pool.workers) {
      if (w.worker.closed) continue;
      assert.deepEqual((await w.worker.dump()).routerIds, []);
    }
  });
});
