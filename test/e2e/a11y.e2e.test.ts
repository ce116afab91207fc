import assert from 'node:assert/strict';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import { openRecentCalls, seedCallRecords } from '../harness/callRecords.js';
import { type TestUser } from '../harness/serverFixture.js';
import { axeAudit as audit } from '../harness/axe.js';
import { uiSuite } from '../harness/uiPages.js';

describe('accessibility of the main screens (axe-core, WCAG 2.1 A/AA)', function () {
  this.timeout(90_000);
  const s = uiSuite();
  let pro: TestUser;

  beforeEach(async () => {
    pro = await s.fx.createUser({ firstName: 'Mario', lastName: 'Rossi', plan: 'pro' });
  });

  for (const theme of ['light', 'dark'] as const) {
    it(`login, agenda, creation form, chat, recent calls and settings have no serious findings (${theme} theme)`, async () => {
      if (theme === 'dark') {
        const res = await s.fx.api('PATCH', '/api/me/preferences', {
          token: pro.token,
          body: { darkTheme: true },
        });
        assert.equal(res.status, 200);
      }
      const giulia = await s.fx.createUser({ firstName: 'Giulia', lastName: 'Bianchi' });
      const dm = await s.fx.api('POST', '/api/chat/dms', { token: pro.token, body: { userId: giulia.id } });
      const { roomId } = dm.body as { roomId: string };
      const sent = await s.fx.api('POST', `/api/chat/rooms/${encodeURIComponent(roomId)}/messages`, {
        token: giulia.token,
        body: { body: 'Ciao Mario' },
      });
      assert.equal(sent.status, 201, JSON.stringify(sent.body));
      const now = Date.now();
      await seedCallRecords(s.fx.db, pro, [
        {
          direction: 'incoming',
          peerNumber: giulia.extension,
          peerName: 'Bianchi Giulia',
          outcome: 'missed',
          startedAt: new Date(now - 60_000),
        },
        {
          direction: 'outgoing',
          peerNumber: '0212345678',
          outcome: 'answered',
          durationSec: 75,
          startedAt: new Date(now - 3_600_000),
        },
        {
          direction: 'incoming',
          peerNumber: '0698765432',
          outcome: 'answered',
          durationSec: 20,
          queue: 'Assistenza',
          startedAt: new Date(now - 86_400_000),
        },
      ]);
      const page = await s.ui.open('user', '/', { bypassCSP: true });
      const found: Record<string, string[]> = {};
      await page.getByRole('heading', { name: 'Autenticazione' }).waitFor();
      found.login = await audit(page);
      await s.ui.signIn(page, pro);
      await page.getByRole('heading', { name: 'Agenda' }).waitFor();
      found.agenda = await audit(page);
      await page.getByRole('button', { name: 'Crea meeting', exact: true }).click();
      await page.getByLabel('Titolo').waitFor();
      found.create = await audit(page);
      await page.getByRole('tab', { name: /^Chat/ }).click();
      await page.locator('button.room-row', { hasText: 'Bianchi Giulia' }).click();
      await page.locator('li.message', { hasText: 'Ciao Mario' }).waitFor();
      found.conversation = await audit(page);
      await page.getByRole('button', { name: 'Nuova chat' }).click();
      found.chat = await audit(page);
      await openRecentCalls(page);
      await page.locator('li.call-row.missed').waitFor();
      found.calls = await audit(page);
      await page.getByRole('button', { name: 'Menu profilo' }).click();
      await page.getByRole('menuitem', { name: 'Impostazioni' }).click();
      await page.getByLabel('Microfono', { exact: true }).waitFor();
      found.settings = await audit(page);
      assert.deepEqual(found, {
        login: [],
        agenda: [],
        create: [],
        conversation: [],
        chat: [],
        calls: [],
        settings: [],
      });
    });
  }

  it('the guest page and its waiting screen have no serious findings', async () => {
    const res = await s.fx.api('POST', '/api/meetings', {
      token: pro.token,
      body: { title: 'Accessibile', startAt: new Date().toISOString(), durationMinutes: 60 },
    });
    const meeting = res.body as MeetingView;
    const page = await s.ui.open('guest', `/m/${meeting.guestUrl.split('/m/')[1] ?? ''}`, {
      bypassCSP: true,
    });
    await page.getByLabel('Nome e cognome').waitFor();
    const form = await audit(page);
    await page.getByLabel('Nome e cognome').fill('Anna');
    await page.getByRole('button', { name: 'Partecipa' }).click();
    await page.getByText("In attesa dell'organizzatore…").waitFor();
    assert.deepEqual({ form, waiting: await audit(page) }, { form: [], waiting: [] });
  });

  it('the meeting room has no serious findings, for the organizer and for a guest', async () => {
    const res = await s.fx.api('POST', '/api/meetings', {
      token: pro.token,
      body: { title: 'Sala accessibile', startAt: new Date().toISOString(), durationMinutes: 60 },
    });
    const meeting = res.body as MeetingView;
    const guest = await s.ui.guestWaiting(meeting, 'Anna', { bypassCSP: true });
    const org = await s.ui.organizerStarts(pro, 'Sala accessibile', { bypassCSP: true });
    for (const page of [org, guest]) await page.getByRole('toolbar').waitFor();
    await guest.locator('.tile.remote').waitFor();
    await org.locator('.tile.remote').waitFor();
    const organizerRoom = await audit(org);
    await guest.getByRole('tab', { name: 'Chat del meeting' }).click();
    assert.deepEqual({ organizerRoom, guestRoom: await audit(guest) }, { organizerRoom: [], guestRoom: [] });
  });
});
