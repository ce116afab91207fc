import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import { openRecentCalls, seedCallRecords } from '../harness/callRecords.js';
import { layoutProblems, settled, type LayoutCheckOptions } from '../harness/layoutCheck.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';
import { joined, request, SocketPool } from '../harness/sockets.js';
import { ARTIFACTS, UiPages } from '../harness/uiPages.js';
import { vcardFile } from '../harness/vcard.js';

/** The page's document, as page.evaluate sees it (this side has no DOM types). */
declare const document: { documentElement: { lang: string; dataset: Record<string, string | undefined> } };
declare const localStorage: { setItem: (key: string, value: string) => void };

const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
] as const;
const THEMES = ['light', 'dark'] as const;
const LANGUAGES = ['it', 'en'] as const;
const SHOTS = path.join(ARTIFACTS, 'layout');
/**
 * With a modal dialog open the page behind it is inert and meant to be covered: only the dialog is measured
 * (every element neither in the dialog nor holding it is skipped).
 */
const MODAL_ONLY: LayoutCheckOptions = { ignore: [':not(:modal):not(:modal *):not(:has(:modal))'] };

const LONG_TITLE =
  'Revisione trimestrale del budget del reparto commerciale e pianificazione degli obiettivi per il prossimo anno';

/**
 * Every screen at 1280×800 and 390×844, in both themes and both languages, measured by `layoutProblems` and
 * photographed into test/artifacts/layout/. One server and one Chromium for the whole suite; the viewport is
 * changed in place, and the theme and language through a second tab of the same browser profile (the app
 * follows what another tab stores), so no screen is opened more than once.
 */
describe('layout of every screen (1280×800 and 390×844, light and dark, Italian and English)', function () {
  this.timeout(180_000);
  let fx: ServerFixture;
  let ui: UiPages;
  let pro: TestUser;
  let meetings: MeetingView[];
  const sockets: SocketPool[] = [];

  before(async () => {
    fx = await startServer();
    ui = await UiPages.create(fx.baseUrl);
    await mkdir(SHOTS, { recursive: true });
    pro = await fx.createUser({ firstName: 'Mario', lastName: 'Rossi', plan: 'pro' });
    const giulia = await fx.createUser({ firstName: 'Giulia', lastName: 'Bianchi' });
    const anna = await fx.createUser({
      firstName: 'Anna Maria',
      lastName: 'Dell’Acqua Montalcini',
      plan: 'pro',
    });
    meetings = [];
    for (const [title, inviteeIds] of [
      ['Riunione di reparto', [giulia.id]],
      [LONG_TITLE, [giulia.id, anna.id]],
      ['Revisione budget Q3', []],
    ] as const) {
      const res = await fx.api('POST', '/api/meetings', {
        token: pro.token,
        body: { title, startAt: new Date().toISOString(), durationMinutes: 90, inviteeIds },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      meetings.push(res.body as MeetingView);
    }
    // One where Mario is only invited: fewer actions on its card.
    const invited = await fx.api('POST', '/api/meetings', {
      token: anna.token,
      body: {
        title: 'Formazione sicurezza',
        startAt: new Date().toISOString(),
        durationMinutes: 30,
        inviteeIds: [pro.id],
      },
    });
    assert.equal(invited.status, 201, JSON.stringify(invited.body));
    for (const [other, bodies] of [
      [
        giulia,
        [
          'Ciao Mario, ci vediamo alle 15?',
          'Ecco il verbale: https://example.com/verbali/2026/riunione-di-reparto-del-mese',
        ],
      ],
      [
        anna,
        ['Ho aggiornato il documento con le osservazioni di tutti i partecipanti della riunione di ieri.'],
      ],
    ] as const) {
      const dm = await fx.api('POST', '/api/chat/dms', { token: pro.token, body: { userId: other.id } });
      assert.equal(dm.status, 201, JSON.stringify(dm.body));
      const { roomId } = dm.body as { roomId: string };
      for (const body of bodies) {
        const sent = await fx.api('POST', `/api/chat/rooms/${encodeURIComponent(roomId)}/messages`, {
          token: other.token,
          body: { body },
        });
        assert.equal(sent.status, 201, JSON.stringify(sent.body));
      }
    }
  });

  after(async () => {
    for (const pool of sockets) pool.closeAll();
    await ui?.close();
    await fx?.close();
  });

  /** A second tab of `page`'s browser profile, on a page of the same origin that is not the app. */
  const remotes = new Map<Page, Page>();
  async function remote(page: Page): Promise<Page> {
    let r = remotes.get(page);
    if (!r) {
      r = await page.context().newPage();
      await r.goto(`${fx.baseUrl}/manifest.webmanifest`);
      // The new tab took the front: a background tab draws about one frame a second.
      await page.bringToFront();
      remotes.set(page, r);
    }
    return r;
  }

  async function setLook(page: Page, theme: 'light' | 'dark', language: 'it' | 'en'): Promise<void> {
    const other = await remote(page);
    await other.evaluate((v) => localStorage.setItem('ucc.ui', JSON.stringify(v)), {
      language,
      darkTheme: theme === 'dark',
    });
    await page.waitForFunction(
      (v) =>
        document.documentElement.lang === v.language && document.documentElement.dataset.theme === v.theme,
      { language, theme },
    );
  }

  /** The screen shown on `page`, in all eight variants; left as it was found (Italian, light, 1280×800). */
  async function check(
    page: Page,
    screen: string,
    options: LayoutCheckOptions = {},
    /** Run at each viewport (a scroll to what lies below the fold on a phone). */
    atViewport?: () => Promise<void>,
  ): Promise<string[]> {
    const found: string[] = [];
    // Each person is a window of their own: the one measured draws at full speed only in front.
    await page.bringToFront();
    // The viewport outermost: a resize is what makes the next screenshot slow (a new frame of the new size).
    for (const viewport of VIEWPORTS) {
      await page.setViewportSize(viewport);
      await atViewport?.();
      for (const language of LANGUAGES) {
        for (const theme of THEMES) {
          await setLook(page, theme, language);
          await settled(page);
          const variant = `${screen} ${viewport.width}x${viewport.height} ${theme} ${language}`;
          await page.screenshot({ path: path.join(SHOTS, `${variant.replaceAll(' ', '-')}.png`) });
          for (const problem of await layoutProblems(page, options)) found.push(`${variant}: ${problem}`);
        }
      }
    }
    await setLook(page, 'light', 'it');
    await page.setViewportSize(VIEWPORTS[0]);
    await settled(page);
    return found;
  }

  it('login, agenda with long titles, creation and edit forms have nothing clipped, overlapped or squeezed', async () => {
    const page = await ui.open('user', '/');
    await page.getByRole('heading', { name: 'Autenticazione' }).waitFor();
    const found = await check(page, 'login');
    await ui.signIn(page, pro);
    await page.locator('li.meeting', { hasText: 'Formazione sicurezza' }).waitFor();
    assert.equal(await page.locator('li.meeting').count(), 4);
    found.push(...(await check(page, 'agenda')));
    await page.getByRole('button', { name: 'Crea meeting', exact: true }).click();
    await page.getByLabel('Titolo').fill(LONG_TITLE);
    const search = page.getByRole('searchbox', { name: 'Seleziona i partecipanti', exact: true });
    await search.fill('Bianchi');
    await page.getByRole('button', { name: /Bianchi Giulia/ }).click();
    found.push(...(await check(page, 'create')));
    await page.getByRole('button', { name: 'Annulla', exact: true }).click();
    const item = page.locator('li.meeting', { hasText: LONG_TITLE });
    await item.getByRole('button', { name: 'Modifica' }).click();
    await item.getByRole('heading', { name: 'Modifica meeting' }).waitFor();
    found.push(...(await check(page, 'edit')));
    assert.deepEqual(found, []);
  });

  it('chat list, conversation, new chat, profile and settings have nothing clipped, overlapped or squeezed', async () => {
    const page = await ui.open('user', '/');
    await ui.signIn(page, pro);
    await page.getByRole('tab', { name: /^Chat/ }).click();
    await page.locator('button.room-row').nth(1).waitFor();
    const found = await check(page, 'chat-list');
    await page.locator('button.room-row', { hasText: 'Bianchi Giulia' }).click();
    await page.locator('li.message', { hasText: 'verbale' }).waitFor();
    found.push(...(await check(page, 'conversation')));
    await page.getByRole('button', { name: 'Nuova chat' }).click();
    found.push(...(await check(page, 'new-chat')));
    await page.getByRole('button', { name: 'Menu profilo' }).click();
    await page.getByRole('menuitem', { name: 'Il tuo profilo' }).click();
    await page.getByRole('heading', { name: 'Il tuo profilo' }).waitFor();
    found.push(...(await check(page, 'profile')));
    await page.getByRole('button', { name: 'Menu profilo' }).click();
    await page.getByRole('menuitem', { name: 'Impostazioni' }).click();
    await page.getByLabel('Microfono', { exact: true }).waitFor();
    found.push(...(await check(page, 'settings')));
    assert.deepEqual(found, []);
  });

  it('Rubrica list, contact form with two numbers, import preview, categories and category form have nothing clipped, overlapped or squeezed', async () => {
    const admin = await fx.createUser({
      firstName: 'Alessandra',
      lastName: 'Amministratrice',
      role: 'admin',
    });
    const post = async (url: string, body: Record<string, unknown>): Promise<{ id: string }> => {
      const res = await fx.api('POST', url, { token: admin.token, body });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body as { id: string };
    };
    const clienti = await post('/api/categories', { name: 'Clienti e fornitori strategici', public: true });
    await post('/api/categories', { name: 'Personale esterno' });
    await post('/api/contacts', {
      lastName: 'Dell’Acqua Montalcini',
      firstName: 'Anna Maria',
      company: 'Società Cooperativa Agricola Valle del Chianti',
      categoryId: clienti.id,
      numbers: [
        { type: 'mobile', number: '+39 342 749 3700', speedDial: '123456' },
        { type: 'work', number: '+39 (055) 123-45-67', speedDial: '12' },
      ],
    });
    await post('/api/contacts', {
      lastName: 'Verdi',
      firstName: 'Luca',
      personal: true,
      numbers: [{ type: 'home', number: '02 1234567' }],
    });
    await post('/api/contacts', { company: 'Ottica Centrale', categoryId: clienti.id });

    const page = await ui.open('user', '/');
    await ui.signIn(page, admin);
    await page.getByRole('tab', { name: 'Rubrica' }).click();
    const rows = page.locator('table.rb-table tbody tr[data-contact-id]');
    await rows.nth(2).waitFor();
    const found = await check(page, 'contacts');
    // On a phone the rows (cards there) start below the fold: measured once scrolled to.
    found.push(...(await check(page, 'contacts-rows', {}, () => rows.nth(2).scrollIntoViewIfNeeded())));
    await page.getByRole('heading', { name: 'Contatti' }).scrollIntoViewIfNeeded();

    await page.getByRole('button', { name: 'Dell’Acqua Montalcini', exact: true }).click();
    await page.getByRole('heading', { name: 'Modifica contatto' }).waitFor();
    assert.equal(await page.getByTestId('rb-number-row').count(), 2);
    found.push(...(await check(page, 'contact-form')));
    await page.getByRole('button', { name: "Torna all'elenco" }).click();
    await rows.nth(2).waitFor();

    await page.getByRole('button', { name: 'CARICA VCARD' }).click();
    const dialog = page.getByRole('dialog', { name: 'CARICA VCARD' });
    await dialog.getByLabel('Scegli il file').setInputFiles({
      name: 'rubrica.vcf',
      mimeType: 'text/vcard',
      buffer: vcardFile([
        [
          'N:Esposito;Marco Giovanni;;;',
          'FN:Marco Giovanni Esposito',
          'ORG:Esposito Impianti Elettrici e Termoidraulici Srl',
          'TEL;TYPE=CELL:+39 333 111 2222',
        ],
        ['N:Ferrari;Chiara;;;', 'FN:Chiara Ferrari', 'TEL;TYPE=WORK:06 5555 0101'],
      ]),
    });
    await dialog
      .getByTestId('rb-import-report')
      .getByText('Anteprima: nulla è ancora stato salvato')
      .waitFor();
    found.push(...(await check(page, 'contacts-import', MODAL_ONLY)));
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });

    await page.getByRole('button', { name: 'Categorie', exact: true }).click();
    await page.locator('tr[data-category-id]', { hasText: 'Personale esterno' }).waitFor();
    found.push(...(await check(page, 'categories')));
    await page.getByRole('button', { name: 'Clienti e fornitori strategici', exact: true }).click();
    await page.getByRole('heading', { name: 'Modifica categoria' }).waitFor();
    found.push(...(await check(page, 'category-form')));
    assert.deepEqual(found, []);
  });

  it('Chiamate recenti with missed, queue and long-named calls, and the call buttons, have nothing clipped, overlapped or squeezed', async () => {
    const now = Date.now();
    await seedCallRecords(fx.db, pro, [
      {
        direction: 'incoming',
        peerNumber: '3999',
        peerName: 'Dell’Acqua Montalcini Anna Maria',
        outcome: 'missed',
        startedAt: new Date(now - 60_000),
      },
      {
        direction: 'outgoing',
        peerNumber: '+393427493700',
        outcome: 'answered',
        durationSec: 3_725,
        clickToCall: true,
        startedAt: new Date(now - 3_600_000),
      },
      {
        direction: 'incoming',
        peerNumber: '0698765432',
        outcome: 'answered',
        durationSec: 20,
        queue: 'Assistenza clienti e supporto tecnico',
        startedAt: new Date(now - 86_400_000),
      },
      {
        direction: 'outgoing',
        peerNumber: '0212345678',
        outcome: 'busy',
        startedAt: new Date(now - 5 * 86_400_000),
      },
    ]);
    const page = await ui.open('user', '/');
    await ui.signIn(page, pro);
    await openRecentCalls(page);
    const rows = page.locator('li.call-row');
    await rows.nth(3).waitFor();
    const found = await check(page, 'recent-calls');
    found.push(...(await check(page, 'recent-calls-rows', {}, () => rows.nth(3).scrollIntoViewIfNeeded())));
    assert.deepEqual(found, []);
  });

  it('guest page, waiting screen and the room with 1, 2 and 6 tiles have nothing clipped, overlapped or squeezed', async () => {
    const [meeting] = meetings;
    assert.ok(meeting);
    const guest = await ui.open('guest', `/m/${meeting.guestUrl.split('/m/')[1] ?? ''}`);
    await guest.getByLabel('Nome e cognome').waitFor();
    const found = await check(guest, 'guest');
    await guest.getByLabel('Nome e cognome').fill('Anna Ospite');
    await guest.getByRole('button', { name: 'Partecipa' }).click();
    await guest.getByText("In attesa dell'organizzatore…").waitFor();
    found.push(...(await check(guest, 'waiting')));

    // Alone in another meeting first: one tile.
    const alone = await ui.organizerStarts(pro, 'Revisione budget Q3');
    await alone.getByRole('toolbar').waitFor();
    found.push(...(await check(alone, 'room-1')));
    await alone.close();

    // The organizer starts the guest's meeting: the guest, who was waiting for them, comes in.
    const org = await ui.organizerStarts(pro, 'Riunione di reparto');
    await org.getByRole('toolbar').waitFor();
    await org.locator('.tile.remote').first().waitFor();
    await guest.locator('.tile.remote').first().waitFor();
    found.push(...(await check(org, 'room-2')));
    found.push(...(await check(guest, 'room-2-guest')));

    // Colleagues joining over a socket of their own (no media): their tiles show the placeholder.
    const pool = new SocketPool(fx.baseUrl);
    sockets.push(pool);
    const inviteeIds = meeting.invitees.map((p) => p.id);
    const joinAs = async (firstName: string, lastName: string): Promise<void> => {
      const user = await fx.createUser({ firstName, lastName });
      inviteeIds.push(user.id);
      const invite = await fx.api('PATCH', `/api/meetings/${meeting.id}`, {
        token: pro.token,
        body: { inviteeIds },
      });
      assert.equal(invite.status, 200, JSON.stringify(invite.body));
      const socket = await pool.connect(user.token);
      joined(await request(socket, { type: 'meeting.join', meetingId: meeting.id }));
    };
    for (const [first, last] of [
      ['Luca', 'Verdi'],
      ['Francesca', 'Esposito'],
      ['Giovanni Battista', 'Dell’Orto'],
      ['Alessandro', 'Montanari Colombo'],
    ] as const)
      await joinAs(first, last);
    await org.locator('.tile.remote').nth(4).waitFor();
    found.push(...(await check(org, 'room-6')));
    await org.getByRole('tab', { name: 'Chat del meeting' }).click();
    found.push(...(await check(org, 'room-6-chat')));
    assert.deepEqual(found, []);
  });
});
