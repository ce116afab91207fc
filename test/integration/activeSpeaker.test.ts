import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { types } from 'mediasoup';
import { MeetingMedia } from '../../sfu/MeetingMedia.js';
import { testStack } from '../harness/testStack.js';

const OPUS_PT = 100;
const AUDIO_LEVEL_ID = 1;

/** An opus track that states its level in every packet (RFC 6464), as browsers send it. */
function opusWithLevel(ssrc: number): types.RtpParameters {
  return {
    codecs: [{ mimeType: 'audio/opus', payloadType: OPUS_PT, clockRate: 48_000, channels: 2 }],
    headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', id: AUDIO_LEVEL_ID }],
    encodings: [{ ssrc }],
  };
}

/** One 20 ms RTP packet whose audio level extension says `dBov` below full scale (127 is silence). */
function rtpWithLevel(seq: number, ssrc: number, dBov: number): Buffer {
  const packet = Buffer.alloc(12 + 8 + 20);
  packet[0] = 0x90; // version 2, with a header extension
  packet[1] = OPUS_PT;
  packet.writeUInt16BE(seq & 0xffff, 2);
  packet.writeUInt32BE((seq * 960) >>> 0, 4);
  packet.writeUInt32BE(ssrc, 8);
  packet.writeUInt16BE(0xbede, 12); // one-byte extension elements…
  packet.writeUInt16BE(1, 14); // …in one 32-bit word
  packet[16] = AUDIO_LEVEL_ID << 4; // element id; length 1 is written as 0
  packet[17] = 0x80 | dBov; // voice activity flag and level
  packet.fill(0xab, 20);
  return packet;
}

describe('active speaker (real worker)', () => {
  let media: MeetingMedia;
  const stops: (() => void)[] = [];
  /** Every producer the observer named, in order. */
  let named: string[];

  beforeEach(async () => {
    media = await MeetingMedia.create({
      pool: testStack().pool,
      consumerThreshold: 500,
      logger: testStack().logger,
    });
    named = [];
    media.on('activespeaker', (producerId) => named.push(producerId));
  });

  afterEach(() => {
    for (const stop of stops.splice(0)) stop();
    media.close();
  });

  /**
   * A microphone on the meeting's router, fed from a Node socket with a steady, faint level: people in a quiet
   * room, none of whom would outscore another.
   */
  async function mic(ssrc: number): Promise<types.Producer> {
    const [home] = media.routers;
    assert.ok(home);
    const transport = await home.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
      comedia: true,
      rtcpMux: true,
    });
    const producer = await transport.produce({ kind: 'audio', rtpParameters: opusWithLevel(ssrc) });
    await media.publish(producer, home);
    const socket = createSocket('udp4');
    let seq = 0;
    const feed = setInterval(() => {
      seq++;
      socket.send(rtpWithLevel(seq, ssrc, 60), transport.tuple.localPort, '127.0.0.1');
    }, 20);
    stops.push(() => {
      clearInterval(feed);
      socket.close();
      transport.close();
    });
    return producer;
  }

  /** Resolves once `done` holds for the producers named so far: checked now and on each new one. */
  function until(done: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!done()) return;
        media.off('activespeaker', check);
        resolve();
      };
      media.on('activespeaker', check);
      check();
    });
  }

  it('names the other microphone as soon as the active speaker mutes, and the first again once they swap', async () => {
    const a = await mic(1111);
    const b = await mic(2222);
    await until(() => named.length > 0);
    const [speaker, other] = named[0] === a.id ? [a, b] : [b, a];

    // Muted, they stop being the active speaker at once: the other need not outscore a silent microphone.
    await speaker.pause();
    await until(() => named.at(-1) === other.id);

    // Unmuted, they are back in the race: when the other one mutes, they are named again.
    await speaker.resume();
    await other.pause();
    await until(() => named.at(-1) === speaker.id);
    assert.deepEqual(named, [speaker.id, other.id, speaker.id], 'named on each change, never while muted');
  });
  it('never names a muted microphone, even when the active speaker leaves and only muted ones remain', async () => {
    const a = await mic(1111);
    await until(() => named.length > 0);
    const b = await mic(2222);
    await b.pause();

    a.close();
    // Someone joins unmuted: they are the one to name, not the muted microphone left behind.
    const c = await mic(3333);
    await until(() => named.at(-1) === c.id);
    assert.deepEqual(named, [a.id, c.id]);
  });
});
