import assert from 'node:assert/strict';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import { startServer, type TestUser } from '../harness/serverFixture.js';
import { joined, request, SocketPool } from '../harness/sockets.js';
import { testStack } from '../harness/testStack.js';
import { uiSuite } from '../harness/uiPages.js';

describe('presence in Chromium', function () {
  this.timeout(120_000);
  const s = uiSuite(() => {
    const stack = testStack();
    const bridgeUrl = stack.config.matrix.mode === 'embedded' ? stack.config.matrix.bridgeUrl : '';
    // Synapse pushes chat events to the bridge URL it was started with: this server must listen there.
    return startServer({
      config: { http: { ...stack.config.http, port: Number(new URL(bridgeUrl).port) } },
    });
  });
  let mario: TestUser;
  let giulia: TestUser;
  let sockets: SocketPool;

  beforeEach(async () => {
    mario = await s.fx.createUser({ firstName: 'Mario', lastName: 'Rossi' });
    giulia = await s.fx.createUser({ firstName: 'Giulia', lastName: 'Bianchi', plan: 'pro' });
    sockets = new SocketPool(s.fx.baseUrl);
  });
  afterEach(() => sockets.closeAll());

  it("shows a colleague's dot in the chat list and in the colleague search, and follows its pushes", async () => {
    const dm = await s.fx.api('POST', '/api/chat/dms', { token: mario.token, body: { userId: giulia.id } });
    assert.equal(dm.status, 201, JSON.stringify(dm.body));

    const page = await s.ui.open('mario', '/');
    await s.ui.signIn(page, mario);
    await page.getByRole('tab', { name: /^Chat/ }).click();
    const row = page.locator('button.room-row', { hasText: 'Bianchi Giulia' });
    // No phone registered and in no meeting: "Non connesso".
    await row.getByRole('img', { name: 'Non connesso' }).waitFor();

    // Giulia joins a meeting of hers: the push reaches Mario's page and the dot changes.
    const res = await s.fx.api('POST', '/api/meetings', {
      token: giulia.token,
      body: {
        title: 'Punto',
        description: '',
        startAt: new Date(Date.now() + 60_000).toISOString(),
        durationMinutes: 30,
        inviteeIds: [],
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const g = await sockets.connect(giulia.token);
    joined(await request(g, { type: 'meeting.join', meetingId: (res.body as MeetingView).id }));
    await row.getByRole('img', { name: 'In meeting' }).waitFor();

    // The colleague search of "Nuova chat" shows it too.
    await page.getByRole('button', { name: 'Nuova chat' }).click();
    await page.getByRole('searchbox', { name: 'Seleziona i colleghi' }).fill('bianchi');
    await page
      .getByRole('list', { name: 'Seleziona i colleghi' })
      .getByRole('button', { name: /Bianchi Giulia/ })
      .getByRole('img', { name: 'In meeting' })
      .waitFor();
    await s.ui.screenshot(page, 'presence-chat-list.png');

    ackOk(await request(g, { type: 'meeting.leave' }));
    await row.getByRole('img', { name: 'Non connesso' }).waitFor();
    s.ui.assertNoConsoleErrors();
  });
});

function ackOk(ack: { ok: boolean }): void {
  assert.ok(ack.ok, JSON.stringify(ack));
}
