import assert from 'node:assert/strict';
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

  it("two colleagues whose app sockets are on different nodes meet on one node and decode each other's video", async () => {
    const [a, b] = site.nodes as [ServerFixture, ServerFixture];
    const pro = await a.createUser({ firstName: 'Mario', lastName: 'Rossi', plan: 'pro' });
    const giulia = await a.createUser({ firstName: 'Giulia', lastName: 'Bianchi' });
    const res = await a.api('POST', '/api/meetings', {
      token: pro.token,
      body: {
        title: 'Due nodi',
        startAt: new Date().toISOString(),
        durationMinutes: 60,
        inviteeIds: [giulia.id],
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const total = async (): Promise<[number, number]> => [await connectedOn(a), await connectedOn(b)];

    ui = await UiPages.create(site.balancer.baseUrl);
    const org = await ui.open('organizer', '/');
    await ui.signIn(org, pro);
    await eventually("the organizer's app socket", 5_000, async () => {
      const [x, y] = await total();
      return x + y === 1 ? true : undefined;
    });
    // Giulia's app socket goes to the node with fewer (leastconn): the other one. She waits for the organizer.
    const colleague = await ui.organizerStarts(giulia, 'Due nodi');
    await colleague.getByText("In attesa dell'organizzatore…").waitFor();
    await org
      .locator('li.meeting', { hasText: 'Due nodi' })
      .getByRole('button', { name: 'Inizia meeting' })
      .click();
    const decoding = (): boolean =>
      [...document.querySelectorAll('.tile.remote video')].some((v) => v.videoWidth > 0);
    await colleague.waitForFunction(decoding, undefined, { timeout: 30_000 });
    await org.waitForFunction(decoding, undefined, { timeout: 30_000 });

    // One app socket on each node, and both meeting connections on the meeting's node: 1 + 3.
    const counts = await eventually('four sockets open', 5_000, async () => {
      const n = await total();
      return n[0] + n[1] === 4 ? n : undefined;
    });
    assert.deepEqual([...counts].sort(), [1, 3]);
    ui.assertNoConsoleErrors();
  });
});
