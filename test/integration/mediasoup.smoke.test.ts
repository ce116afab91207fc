import assert from 'node:assert/strict';
import type { types } from 'mediasoup';
import { MEDIA_CODECS } from '../../sfu/mediaCodecs.js';
import { testStack } from '../harness/testStack.js';

describe('mediasoup (real worker built from source)', () => {
  let router: types.Router;

  beforeEach(async () => {
    const [first] = testStack().pool.workers;
    assert.ok(first, 'no worker in the pool');
    router = await first.worker.createRouter({ mediaCodecs: MEDIA_CODECS });
  });

  afterEach(() => {
    router.close();
  });

  it('creates a router offering opus, VP8 and H264 with RTX', () => {
    const mimeTypes = router.rtpCapabilities.codecs?.map((c) => c.mimeType) ?? [];
    for (const mime of ['audio/opus', 'video/VP8', 'video/H264', 'video/rtx']) {
      assert.ok(mimeTypes.includes(mime), `${mime} missing from ${mimeTypes.join(', ')}`);
    }
  });

  it('creates a WebRtcTransport on 127.0.0.1 whose getStats() answers', async () => {
    const transport = await router.createWebRtcTransport({
      listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }],
    });
    try {
      assert.equal(transport.iceCandidates[0]?.address, '127.0.0.1');
      const [stats] = await transport.getStats();
      assert.equal(stats?.type, 'webrtc-transport');
      assert.equal(stats.transportId, transport.id);
      assert.equal(stats.iceState, 'new');
    } finally {
      transport.close();
    }
  });

  it('creates a WebRtcTransport on the worker’s WebRtcServer sharing its port', async () => {
    const [first] = testStack().pool.workers;
    assert.ok(first);
    const transport = await router.createWebRtcTransport({ webRtcServer: first.webRtcServer });
    try {
      const udp = transport.iceCandidates.find((c) => c.protocol === 'udp');
      assert.equal(udp?.port, first.ports.udp);
      assert.equal((await transport.getStats()).length, 1);
    } finally {
      transport.close();
    }
  });
});
