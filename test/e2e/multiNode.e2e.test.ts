import assert from 'node:assert/strict';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import { eventually } from '../harness/eventually.js';
import { connectedOn, startNodes, type NodeSite } from '../harness/nodes.js';
import type { ServerFixture } from '../harness/serverFixture.js';
import { UiPages } from '../harness/uiPages.js';

/** The page's document, as page.evaluate sees it (this side has no DOM types). */
declare const document: {
  querySelectorAll: (selector: string) => Iterable<{ videoWidth: number }>;
};

describe('the web app on two server nodes behind HAProxy', function () {
  this.timeout(120_000);
  let site: NodeSite;
  let ui: UiPages | undefined;

  before(async () => {
    site = await startNodes({ count: 2 });
  });

  afterEach(async function () {
    const failed = this.currentTest?.state === 'failed' ? this.currentTest.title || 'test' : undefined;
    await ui?.close(failed);
    ui = undefined;
  });

  after(() => site.close());

  it("organizer and guest through the balancer: the organizer's sockets on two nodes, both decode each other's video", async () => {
    const [a, b] = site.nodes as [ServerFixture, ServerFixture];
    const pro = await a.createUser({ firstName: 'Mario', lastName: 'Rossi', plan: 'pro' });
    const res = await a.api('POST', '/api/meetings', {
      token: pro.token,
      body: { title: 'Due nodi', startAt: new Date().toISOString(), durationMinutes: 60 },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const meeting = res.body as MeetingView;

    ui = await UiPages.create(site.balancer.baseUrl);
    const guest = await ui.guestWaiting(meeting, 'Anna Ospite');
    const org = await ui.organizerStarts(pro, 'Due nodi');
    const decoding = (): boolean =>
      [...document.querySelectorAll('.tile.remote video')].some((v) => v.videoWidth > 0);
    await guest.waitForFunction(decoding, undefined, { timeout: 30_000 });
    await org.waitForFunction(decoding, undefined, { timeout: 30_000 });

    // The guest's and the organizer's meeting connections on the meeting's node; the organizer's app socket
    // (chat, notices) on the other, which the balancer gave the fewest connections.
    const counts = await eventually('three sockets open', 5_000, async () => {
      const n: [number, number] = [await connectedOn(a), await connectedOn(b)];
      return n[0] + n[1] === 3 ? n : undefined;
    });
    assert.deepEqual([...counts].sort(), [1, 2]);
    ui.assertNoConsoleErrors();
  });
});
