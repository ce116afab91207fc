import assert from 'node:assert/strict';
import { ManualClock } from '../../server/clock.js';
import type { Ack, ConsumerInfo } from '../../shared/protocol.js';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';
import { nextEvent, request, SocketPool, type ClientSocket } from '../harness/sockets.js';
import { testStack } from '../harness/testStack.js';

/** What a browser would send for an opus track or a VP8 camera with 3 simulcast layers. */
const OPUS = {
  codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48_000, channels: 2 }],
  encodings: [{ ssrc: 11_111 }],
};
const VP8_SIMULCAST = {
  codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90_000 }],
  encodings: [
    { ssrc: 22_221, rid: undefined, scaleResolutionDownBy: 4 },
    { ssrc: 22_222, scaleResolutionDownBy: 2 },
    { ssrc: 22_223, scaleResolutionDownBy: 1 },
  ],
};

function ok<T>(ack: Ack<T>): T {
  assert.ok(ack.ok, `request failed: ${JSON.stringify(ack)}`);
  return ack.data;
}

function code(ack: Ack<unknown>): string {
  assert.equal(ack.ok, false, `expected an error: ${JSON.stringify(ack)}`);
  return ack.ok ? '' : ack.error.code;
}

/** Routers alive on the suite's workers: zero when no meeting has media. */
async function liveRouters(): Promise<number> {
  const dumps = await Promise.all(testStack().pool.workers.map((w) => w.worker.dump()));
  return dumps.reduce((n, d) => n + d.routerIds.length, 0);
}

describe('media signaling (socket.io → mediasoup)', () => {
  let fx: ServerFixture;
  let sockets: SocketPool;
  let organizer: TestUser;
  let meeting: MeetingView;

  beforeEach(async () => {
    fx = await startServer();
    sockets = new SocketPool(fx.baseUrl);
    organizer = await fx.createUser({ firstName: 'Mario', lastName: 'Rossi', plan: 'pro' });
    const res = await fx.api('POST', '/api/meetings', {
      token: organizer.token,
      body: { title: 'Media', startAt: new Date().toISOString(), durationMinutes: 60 },
    });
    meeting = res.body as MeetingView;
  });

  afterEach(async () => {
    sockets.closeAll();
    await fx.close();
  });

  async function join(token: string): Promise<{ socket: ClientSocket; participantId: string }> {
    const socket = await sockets.connect(token);
    const outcome = ok(await request(socket, { type: 'meeting.join', meetingId: meeting.id }));
    assert.equal(outcome.state, 'joined');
    return { socket, participantId: outcome.state === 'joined' ? outcome.participantId : '' };
  }

  async function guest(): Promise<{ socket: ClientSocket; participantId: string }> {
    const code = meeting.guestUrl.split('/m/')[1] ?? '';
    const res = await fx.api('POST', `/api/guest/${code}/join`, { body: { displayName: 'Anna' } });
    return join((res.body as { guestToken: string }).guestToken);
  }

  it('refuses media requests before the meeting is joined', async () => {
    const s = await sockets.connect(organizer.token);
    assert.equal(code(await request(s, { type: 'media.getRouterRtpCapabilities' })), 'FORBIDDEN');
  });

  it('runs the whole flow: capabilities, transports, produce, consume existing and later producers', async () => {
    const org = await join(organizer.token);
    const caps = ok(await request(org.socket, { type: 'media.getRouterRtpCapabilities' }))
      .rtpCapabilities as {
      codecs: { mimeType: string }[];
    };
    assert.ok(caps.codecs.some((c) => c.mimeType === 'video/VP8'));
    const send = ok(await request(org.socket, { type: 'media.createTransport', direction: 'send' }));
    assert.ok(send.iceCandidates.length > 0);
    // Short-lived TURN credentials from the suite's coturn.
    assert.deepEqual(send.iceServers[0]?.urls, testStack().turn.urls);
    assert.match(send.iceServers[0]?.username ?? '', new RegExp(`^\\d+:${org.participantId}$`));
    const mic = ok(
      await request(org.socket, {
        type: 'media.produce',
        transportId: send.id,
        kind: 'audio',
        rtpParameters: OPUS,
        source: 'mic',
      }),
    ).producerId;

    const anna = await guest();
    const recv = ok(await request(anna.socket, { type: 'media.createTransport', direction: 'recv' }));
    assert.ok(recv.id);
    const { consumers } = ok(await request(anna.socket, { type: 'media.ready', rtpCapabilities: caps }));
    assert.equal(consumers.length, 1);
    assert.equal(consumers[0]?.producerId, mic);
    assert.equal(consumers[0]?.participantId, org.participantId);
    assert.equal(consumers[0]?.source, 'mic');
    assert.equal(consumers[0]?.paused, true);
    ok(await request(anna.socket, { type: 'media.resumeConsumer', consumerId: consumers[0]?.id ?? '' }));

    // A producer that appears later reaches the ready participant by itself.
    const later = nextEvent(anna.socket, 'media.newConsumer');
    const cam = ok(
      await request(org.socket, {
        type: 'media.produce',
        transportId: send.id,
        kind: 'video',
        rtpParameters: VP8_SIMULCAST,
        source: 'camera',
      }),
    ).producerId;
    const camConsumer: ConsumerInfo = await later;
    assert.equal(camConsumer.producerId, cam);
    assert.equal(camConsumer.source, 'camera');
    ok(
      await request(anna.socket, {
        type: 'media.setPreferredLayers',
        consumerId: camConsumer.id,
        spatialLayer: 0,
      }),
    );

    // Closing a producer closes the consumers of it.
    const closed = nextEvent(anna.socket, 'media.consumerClosed');
    ok(await request(org.socket, { type: 'media.closeProducer', producerId: cam }));
    assert.deepEqual(await closed, { consumerId: camConsumer.id });
  });

  it('lets the organizer mute a participant, locked, and stop their camera', async () => {
    const org = await join(organizer.token);
    const anna = await guest();
    const caps = ok(await request(org.socket, { type: 'media.getRouterRtpCapabilities' })).rtpCapabilities;
    const send = ok(await request(anna.socket, { type: 'media.createTransport', direction: 'send' }));
    const mic = ok(
      await request(anna.socket, {
        type: 'media.produce',
        transportId: send.id,
        kind: 'audio',
        rtpParameters: OPUS,
        source: 'mic',
      }),
    ).producerId;
    ok(
      await request(anna.socket, {
        type: 'media.produce',
        transportId: send.id,
        kind: 'video',
        rtpParameters: VP8_SIMULCAST,
        source: 'camera',
      }),
    );

    assert.equal(
      code(await request(anna.socket, { type: 'media.muteParticipant', participantId: org.participantId })),
      'FORBIDDEN',
    );
    const told = nextEvent(anna.socket, 'media.mutedByOrganizer');
    assert.deepEqual(
      ok(
        await request(org.socket, {
          type: 'media.muteParticipant',
          participantId: anna.participantId,
          lock: true,
        }),
      ),
      { muted: 1 },
    );
    assert.deepEqual(await told, { locked: true });
    assert.equal(
      code(await request(anna.socket, { type: 'media.resumeProducer', producerId: mic })),
      'FORBIDDEN',
    );
    // Someone arriving now learns at once that Anna's mic is paused.
    const late = await guest();
    ok(await request(late.socket, { type: 'media.createTransport', direction: 'recv' }));
    const seen = ok(await request(late.socket, { type: 'media.ready', rtpCapabilities: caps }));
    assert.equal(seen.consumers.find((c) => c.producerId === mic)?.producerPaused, true);

    const unlocked = nextEvent(anna.socket, 'media.micUnlocked');
    ok(await request(org.socket, { type: 'media.unlockParticipant', participantId: anna.participantId }));
    await unlocked;
    ok(await request(anna.socket, { type: 'media.resumeProducer', producerId: mic }));

    const stopped = nextEvent(anna.socket, 'media.cameraStoppedByOrganizer');
    assert.deepEqual(
      ok(await request(org.socket, { type: 'media.stopCamera', participantId: anna.participantId })),
      {
        stopped: 1,
      },
    );
    await stopped;
  });

  it('answers bad media parameters with VALIDATION_FAILED and unknown ids with NOT_FOUND', async () => {
    const org = await join(organizer.token);
    const send = ok(await request(org.socket, { type: 'media.createTransport', direction: 'send' }));
    const bad = await request(org.socket, {
      type: 'media.produce',
      transportId: send.id,
      kind: 'audio',
      rtpParameters: { codecs: [{ mimeType: 'audio/nope', payloadType: 1, clockRate: 1 }] },
      source: 'mic',
    });
    assert.equal(code(bad), 'VALIDATION_FAILED');
    const unknown = await request(org.socket, {
      type: 'media.connectTransport',
      transportId: '00000000-0000-4000-8000-000000000000',
      dtlsParameters: { fingerprints: [{ algorithm: 'sha-256', value: 'AA' }] },
    });
    assert.equal(code(unknown), 'NOT_FOUND');
    assert.equal(
      code(await request(org.socket, { type: 'media.createTransport', direction: 'sideways' })),
      'VALIDATION_FAILED',
    );
  });

  it('closes every transport and router when participants leave: nothing leaks', async () => {
    const before = await liveRouters();
    const org = await join(organizer.token);
    const anna = await guest();
    for (const p of [org, anna]) {
      ok(await request(p.socket, { type: 'media.createTransport', direction: 'send' }));
      ok(await request(p.socket, { type: 'media.createTransport', direction: 'recv' }));
    }
    assert.equal(await liveRouters(), before + 1);
    ok(await request(anna.socket, { type: 'meeting.leave' }));
    ok(await request(org.socket, { type: 'meeting.leave' }));
    for (let i = 0; i < 50 && (await liveRouters()) > before; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(await liveRouters(), before);
  });

  describe('a dropped participant', () => {
    const GRACE_MS = 60_000;
    let clock: ManualClock;
    let clocked: ServerFixture;

    beforeEach(async () => {
      // The grace window runs on this clock: the test moves it instead of sleeping.
      clock = new ManualClock(Date.now());
      clocked = await startServer({ clock, config: { rejoinGraceMs: GRACE_MS } });
    });

    afterEach(async () => {
      await clocked.close();
    });

    it('keeps its media while reconnecting, resumes on it after a return, and closes it when the grace window ends', async () => {
      const pool = new SocketPool(clocked.baseUrl);
      try {
        const org = await clocked.createUser({ plan: 'pro' });
        const res = await clocked.api('POST', '/api/meetings', {
          token: org.token,
          body: { title: 'Drop', startAt: new Date(clock.now()).toISOString(), durationMinutes: 60 },
        });
        const m = res.body as MeetingView;
        const code = m.guestUrl.split('/m/')[1] ?? '';
        const orgSocket = await pool.connect(org.token);
        ok(await request(orgSocket, { type: 'meeting.join', meetingId: m.id }));
        const caps = ok(await request(orgSocket, { type: 'media.getRouterRtpCapabilities' })).rtpCapabilities;
        ok(await request(orgSocket, { type: 'media.createTransport', direction: 'recv' }));
        ok(await request(orgSocket, { type: 'media.ready', rtpCapabilities: caps }));
        const closed: string[] = [];
        orgSocket.on('media.consumerClosed', ({ consumerId }) => closed.push(consumerId));

        const g = await clocked.api('POST', `/api/guest/${code}/join`, { body: { displayName: 'Anna' } });
        const guestToken = (g.body as { guestToken: string }).guestToken;
        const guestSocket = await pool.connect(guestToken);
        const joined = ok(await request(guestSocket, { type: 'meeting.join', meetingId: m.id }));
        assert.equal(joined.state, 'joined');
        if (joined.state !== 'joined') return;
        const send = ok(await request(guestSocket, { type: 'media.createTransport', direction: 'send' }));
        const consumed = nextEvent(orgSocket, 'media.newConsumer');
        ok(
          await request(guestSocket, {
            type: 'media.produce',
            transportId: send.id,
            kind: 'audio',
            rtpParameters: OPUS,
            source: 'mic',
          }),
        );
        const consumer = await consumed;

        // The guest's connection drops: she is reconnecting, and nothing of her media closes.
        const reconnecting = nextEvent(orgSocket, 'meeting.participantUpdated');
        guestSocket.disconnect();
        assert.equal((await reconnecting).connection, 'reconnecting');
        ok(await request(orgSocket, { type: 'media.resumeConsumer', consumerId: consumer.id }));

        // Back on a new socket with her rejoin token: her transport is still there to restart ICE on.
        clock.advance(GRACE_MS - 1_000);
        const back = nextEvent(orgSocket, 'meeting.participantUpdated');
        const again = await pool.connect(guestToken);
        ok(await request(again, { type: 'meeting.join', meetingId: m.id, rejoinToken: joined.rejoinToken }));
        assert.equal((await back).connection, 'connected');
        ok(await request(again, { type: 'media.restartIce', transportId: send.id }));
        assert.deepEqual(closed, []);

        // Dropped again and not back in time: her media closes when the window ends, and she is gone.
        const droppedAgain = nextEvent(orgSocket, 'meeting.participantUpdated');
        again.disconnect();
        await droppedAgain;
        clock.advance(GRACE_MS - 1_000);
        ok(await request(orgSocket, { type: 'hello', client: 'test' }));
        assert.deepEqual(closed, [], 'closed before the grace window ended');
        const left = nextEvent(orgSocket, 'meeting.participantLeft');
        clock.advance(2_000);
        assert.deepEqual(await left, { participantId: joined.participantId });
        for (let i = 0; i < 100 && closed.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(closed, [consumer.id]);
      } finally {
        pool.closeAll();
      }
    });
  });
});
