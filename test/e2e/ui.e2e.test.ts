import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import { type TestUser } from '../harness/serverFixture.js';
import { uiSuite, type UiPages } from '../harness/uiPages.js';

/** The page's document, as page.evaluate sees it (this side has no DOM types). */
declare const document: {
  documentElement: { lang: string; dataset: Record<string, string | undefined> };
  querySelector: (selector: string) => { dataset: Record<string, string | undefined> } | null;
  querySelectorAll: (selector: string) => Iterable<{ videoWidth: number }>;
};
declare const navigator: { clipboard: { readText: () => Promise<string> } };
declare const window: { sharedData: unknown[] };

describe('web client in Chromium', function () {
  this.timeout(90_000);
  const s = uiSuite();
  let pro: TestUser;

  beforeEach(async () => {
    pro = await s.fx.createUser({ firstName: 'Mario', lastName: 'Rossi', plan: 'pro' });
  });

  const open = (name: string, urlPath: string, permissions?: string[]) =>
    s.ui.open(name, urlPath, permissions ? { permissions } : {});
  const signIn = (page: Parameters<UiPages['signIn']>[0], user: TestUser, screenshot?: string) =>
    s.ui.signIn(page, user, screenshot);
  const assertNoConsoleErrors = (): void => s.ui.assertNoConsoleErrors();

  async function apiMeeting(title: string): Promise<MeetingView> {
    const res = await s.fx.api('POST', '/api/meetings', {
      token: pro.token,
      body: { title, startAt: new Date().toISOString(), durationMinutes: 60 },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as MeetingView;
  }

  it('a PRO user signs in, creates a meeting with two invitees and sees it in the agenda', async () => {
    await s.fx.createUser({ firstName: 'Giulia', lastName: 'Bianchi' });
    await s.fx.createUser({ firstName: 'Luca', lastName: 'Verdi' });
    const page = await open('organizer', '/', ['clipboard-read', 'clipboard-write']);
    await page.getByRole('heading', { name: 'Autenticazione' }).waitFor();

    // Errors appear next to the fields.
    await page.getByRole('button', { name: 'Accedi', exact: true }).click();
    assert.equal(await page.locator('#extension-error').textContent(), 'Campo obbligatorio');
    await signIn(page, pro, 'login.png');
    await page.getByRole('heading', { name: 'Agenda' }).waitFor();
    await s.ui.screenshot(page, 'agenda-empty.png');

    await page.getByRole('button', { name: 'Crea meeting', exact: true }).click();
    await page.getByLabel('Titolo').fill('Riunione di reparto');
    await page.getByLabel('Durata (ore)').fill('1.5');
    await page.getByLabel('Descrizione').fill('Ordine del giorno: budget');
    const search = page.getByRole('searchbox', { name: 'Seleziona i partecipanti', exact: true });
    for (const [query, name] of [
      ['Bianchi', 'Bianchi Giulia'],
      ['verdi', 'Verdi Luca'],
    ] as const) {
      await search.fill(query);
      await page.getByRole('button', { name: new RegExp(name) }).click();
    }
    assert.equal(await page.locator('.chip').count(), 2);
    await s.ui.screenshot(page, 'create-meeting.png');
    await page.getByRole('button', { name: 'Crea meeting', exact: true }).click();

    const item = page.locator('li.meeting', { hasText: 'Riunione di reparto' });
    await item.waitFor();
    assert.equal(await item.locator('.invited').textContent(), 'Invitati: 2');
    assert.equal(await item.getByRole('button', { name: 'Inizia meeting' }).count(), 1);
    const guestUrl = await item.locator('.guest-link input').inputValue();
    assert.match(guestUrl, /\/m\/[\w-]{22,}$/);
    await item.getByRole('button', { name: 'Copia link' }).click();
    await item.getByRole('button', { name: 'Link copiato' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), guestUrl);
    // "Aggiungi al calendario" downloads the invitation as an iCalendar file.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      item.getByRole('button', { name: 'Aggiungi al calendario' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'Riunione di reparto.ics');
    const ics = await readFile((await download.path()) ?? '', 'utf8');
    assert.match(ics, /BEGIN:VCALENDAR/);
    assert.match(ics, /SUMMARY:Riunione di reparto/);
    await s.ui.screenshot(page, 'agenda.png');

    const listed = await s.fx.api('GET', '/api/meetings?scope=upcoming', { token: pro.token });
    const [meeting] = (listed.body as { items: MeetingView[] }).items;
    assert.equal(meeting?.title, 'Riunione di reparto');
    assert.equal(meeting.durationMinutes, 90);
    assert.equal(meeting.invitedCount, 2);
    // Joining by phone: the extension, and the PIN the API has, in groups of three.
    const pin = meeting.dialIn?.pin ?? '';
    assert.match(pin, /^\d{9}$/);
    assert.equal(
      await item.getByTestId('dial-in').textContent(),
      `Partecipa per telefono: chiama 8000, PIN ${pin.slice(0, 3)} ${pin.slice(3, 6)} ${pin.slice(6)}`,
    );
    assertNoConsoleErrors();
  });

  it('an invited colleague sees the meeting appear, change and go in the agenda without reloading', async () => {
    const giulia = await s.fx.createUser({ firstName: 'Giulia', lastName: 'Bianchi' });
    const page = await open('invitee', '/');
    await signIn(page, giulia);
    await page.getByText('Nessun meeting').waitFor();

    const res = await s.fx.api('POST', '/api/meetings', {
      token: pro.token,
      body: {
        title: 'Revisione budget',
        startAt: new Date().toISOString(),
        durationMinutes: 60,
        inviteeIds: [giulia.id],
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const { id } = res.body as MeetingView;
    const item = page.locator('li.meeting', { hasText: 'Revisione budget' });
    await item.waitFor();
    // Invitees start nothing: they join, and only the organizer has the guest link.
    assert.equal(await item.locator('.guest-link').count(), 0);

    const renamed = await s.fx.api('PATCH', `/api/meetings/${id}`, {
      token: pro.token,
      body: { title: 'Revisione budget Q3' },
    });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    await page.locator('li.meeting', { hasText: 'Revisione budget Q3' }).waitFor();
    assert.equal((await s.fx.api('DELETE', `/api/meetings/${id}`, { token: pro.token })).status, 204);
    await page.locator('li.meeting', { hasText: 'Revisione budget' }).waitFor({ state: 'detached' });
    assertNoConsoleErrors();
  });

  it('the organizer edits a meeting and cancels another from the agenda', async () => {
    const first = await apiMeeting('Riunione settimanale');
    await apiMeeting('Da annullare');
    const page = await open('organizer', '/');
    await signIn(page, pro);
    const item = page.locator('li.meeting', { hasText: 'Riunione settimanale' });
    await item.getByRole('button', { name: 'Modifica' }).click();
    await item.getByRole('heading', { name: 'Modifica meeting' }).waitFor();
    assert.equal(await item.getByLabel('Titolo').inputValue(), 'Riunione settimanale');
    await item.getByLabel('Titolo').fill('Riunione settimanale (spostata)');
    await item.getByLabel('Durata (ore)').fill('2');
    await item.getByRole('button', { name: 'Salva le modifiche' }).click();
    await page
      .locator('li.meeting', { hasText: 'Riunione settimanale (spostata)' })
      .locator('.muted', { hasText: '2 h' })
      .waitFor();
    const saved = await s.fx.api('GET', `/api/meetings/${first.id}`, { token: pro.token });
    assert.equal((saved.body as MeetingView).title, 'Riunione settimanale (spostata)');
    assert.equal((saved.body as MeetingView).durationMinutes, 120);
    // The start was not touched, so it was not sent again.
    assert.equal((saved.body as MeetingView).startAt, first.startAt);

    page.once('dialog', (dialog) => void dialog.accept());
    await page
      .locator('li.meeting', { hasText: 'Da annullare' })
      .getByRole('button', { name: 'Annulla meeting' })
      .click();
    await page.locator('li.meeting', { hasText: 'Da annullare' }).waitFor({ state: 'detached' });
    assertNoConsoleErrors();
  });

  it('"Condividi" hands the guest link to the system share sheet (Web Share)', async () => {
    const meeting = await apiMeeting('Da condividere');
    const page = await open('organizer', '/');
    // Headless Chromium on Linux has no share sheet: a stand-in records what the page would share.
    // A string, not a function: tsx would wrap the inner arrow in a helper that the page does not have.
    await page.addInitScript({
      content: `window.sharedData = [];
        Object.defineProperty(navigator, 'share', {
          value: (data) => { window.sharedData.push(data); return Promise.resolve(); },
        });`,
    });
    await page.reload();
    await signIn(page, pro);
    await page
      .locator('li.meeting', { hasText: 'Da condividere' })
      .getByRole('button', { name: 'Condividi' })
      .click();
    assert.deepEqual(await page.evaluate(() => window.sharedData), [
      { title: 'Da condividere', text: 'Da condividere', url: meeting.guestUrl },
    ]);
    assertNoConsoleErrors();
  });

  it('tells a guest outside Chrome that Chrome works best, and lets them try anyway', async () => {
    const meeting = await apiMeeting('Da Firefox');
    const link = `/m/${meeting.guestUrl.split('/m/')[1] ?? ''}`;
    const chrome = await s.ui.open('chrome', link);
    await chrome.getByLabel('Nome e cognome').waitFor();
    assert.equal(await chrome.getByTestId('browser-notice').count(), 0);

    const firefox = await s.ui.open('firefox', link, {
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0',
    });
    // Only Chromium has client hints: without them, the page goes by the user agent string.
    await firefox.addInitScript({
      content: "Object.defineProperty(Navigator.prototype, 'userAgentData', { get: () => undefined });",
    });
    await firefox.reload();
    await firefox.getByTestId('browser-notice').filter({ hasText: 'Google Chrome' }).waitFor();
    await firefox.getByLabel('Nome e cognome').fill('Ospite con Firefox');
    await firefox.getByRole('button', { name: 'Partecipa' }).click();
    await firefox.getByText("In attesa dell'organizzatore…").waitFor();
    assertNoConsoleErrors();
  });

  it('a basic user sees no create button, and why', async () => {
    const basic = await s.fx.createUser({ firstName: 'Anna', lastName: 'Neri', plan: 'basic' });
    const page = await open('basic', '/');
    await signIn(page, basic);
    await page.getByRole('heading', { name: 'Agenda' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Crea meeting' }).count(), 0);
    assert.match((await page.getByTestId('pro-only').textContent()) ?? '', /PRO/);
    assertNoConsoleErrors();
  });

  it('a guest waits for the organizer and enters when the organizer starts the meeting', async () => {
    const meeting = await apiMeeting('Demo cliente');
    const code = meeting.guestUrl.split('/m/')[1] ?? '';
    const guest = await open('guest', `/m/${code}`);
    await guest.getByRole('heading', { name: 'Demo cliente' }).waitFor();
    assert.match((await guest.locator('main').textContent()) ?? '', /Organizzato da Rossi Mario/);
    // The guest page says how to join by phone too, the PIN grouped for reading.
    const pin = (meeting.dialIn?.pin ?? '').replace(/(\d{3})(?=\d)/g, '$1 ');
    assert.match(pin, /^\d{3} \d{3} \d{3}$/);
    assert.equal(
      await guest.getByTestId('dial-in').textContent(),
      `Partecipa per telefono: chiama 8000, PIN ${pin}`,
    );
    await s.ui.screenshot(guest, 'guest-form.png');
    await guest.getByLabel('Nome e cognome').fill('Anna Ospite');
    await guest.getByRole('button', { name: 'Partecipa' }).click();
    await guest.getByText("In attesa dell'organizzatore…").waitFor();
    await s.ui.screenshot(guest, 'guest-waiting.png');

    const org = await s.ui.organizerStarts(pro, 'Demo cliente');

    // Admitted by itself; each side decodes the other's camera.
    const decoding = (): boolean =>
      [...document.querySelectorAll('.tile.remote video')].some((v) => v.videoWidth > 0);
    await guest.waitForFunction(decoding, undefined, { timeout: 20_000 });
    await org.waitForFunction(decoding, undefined, { timeout: 20_000 });
    assert.match((await guest.locator('.room-head').textContent()) ?? '', /Partecipanti: 2/);
    await s.ui.screenshot(guest, 'room-guest.png');
    await org.getByRole('button', { name: 'Esci dal meeting' }).click();
    await org.getByRole('heading', { name: 'Hai lasciato il meeting' }).waitFor();
    assert.match(org.url(), new RegExp(`/meetings/${meeting.id}$`));
    await org.getByRole('button', { name: 'Torna all’agenda' }).click();
    await org.getByRole('heading', { name: 'Agenda' }).waitFor();
    assert.equal(new URL(org.url()).pathname, '/');
    assertNoConsoleErrors();
  });

  it('in the room the organizer mutes a guest, sees a raised hand, chats and ends the meeting for everyone', async () => {
    const meeting = await apiMeeting('Sala riunioni');
    const guest = await s.ui.guestWaiting(meeting, 'Anna Ospite');
    const org = await s.ui.organizerStarts(pro, 'Sala riunioni');
    const decoding = (): boolean =>
      [...document.querySelectorAll('.tile.remote video')].some((v) => v.videoWidth > 0);
    await guest.waitForFunction(decoding, undefined, { timeout: 20_000 });
    await org.waitForFunction(decoding, undefined, { timeout: 20_000 });
    // Only the organizer has the moderation buttons.
    assert.equal(await guest.getByRole('button', { name: 'Silenzia' }).count(), 0);
    assert.equal(await guest.getByRole('button', { name: 'Termina per tutti' }).count(), 0);

    const guestRow = org.locator('li.person', { hasText: 'Anna Ospite' });
    await guestRow.getByRole('button', { name: 'Silenzia', exact: true }).click();
    await guest
      .getByRole('alert')
      .filter({ hasText: "L'organizzatore ha disattivato il tuo microfono" })
      .waitFor();
    const micButton = guest
      .getByRole('toolbar')
      .getByRole('button', { name: 'Attiva microfono', exact: true });
    assert.equal(await micButton.getAttribute('aria-pressed'), 'true');
    // Not locked: the guest may unmute again.
    await micButton.click();
    await guest
      .getByRole('toolbar')
      .getByRole('button', { name: 'Disattiva microfono', exact: true })
      .waitFor();

    await guest.getByRole('button', { name: 'Alza la mano', exact: true }).click();
    await guestRow.getByText('Mano alzata').waitFor();
    await guest.getByRole('button', { name: 'Abbassa la mano', exact: true }).waitFor();

    await guest.getByRole('tab', { name: 'Chat del meeting' }).click();
    await guest.getByLabel('Scrivi un messaggio').fill('Buongiorno a tutti');
    await guest.getByRole('button', { name: 'Invia', exact: true }).click();
    await guest.locator('.chat-messages li', { hasText: 'Buongiorno a tutti' }).waitFor();
    // The organizer opens the chat afterwards: the message comes from the history.
    await org.getByRole('tab', { name: 'Chat del meeting' }).click();
    await org.locator('.chat-messages li', { hasText: 'Buongiorno a tutti' }).waitFor();
    await s.ui.screenshot(org, 'room-organizer.png');

    await org.getByRole('button', { name: 'Termina per tutti' }).click();
    await guest.getByRole('heading', { name: 'Meeting terminato' }).waitFor();
    assertNoConsoleErrors();
  });

  it('after a removal a guest from another browser knocks, and the organizer lets them in from "In attesa"', async () => {
    const meeting = await apiMeeting('Sala con ospiti');
    const link = `/m/${meeting.guestUrl.split('/m/')[1] ?? ''}`;
    const removed = await s.ui.guestWaiting(meeting, 'Anna Ospite');
    const org = await s.ui.organizerStarts(pro, 'Sala con ospiti');
    const annaRow = org.locator('li.person', { hasText: 'Anna Ospite' });
    await annaRow.getByRole('button', { name: 'Rimuovi', exact: true }).click();
    await removed.getByRole('heading', { name: 'Sei stato rimosso' }).waitFor();

    // Another browser (its own cookies): a new guest id, so it knocks.
    const other = await open('knocker', link);
    await other.getByLabel('Nome e cognome').fill('Bruno Ospite');
    await other.getByRole('button', { name: 'Partecipa' }).click();
    await other.getByText('In attesa che l’organizzatore ti faccia entrare…').waitFor();
    const lobby = org.getByRole('region', { name: /^In attesa/ });
    await lobby.getByText('Bruno Ospite').waitFor();
    await s.ui.screenshot(org, 'room-lobby.png');
    // On a phone too: the knocking guest's page, and the organizer's panel with the buttons in reach.
    await other.setViewportSize({ width: 390, height: 844 });
    await s.ui.screenshot(other, 'guest-knocking-phone.png');
    await org.setViewportSize({ width: 390, height: 844 });
    await lobby.getByRole('button', { name: 'Ammetti: Bruno Ospite' }).scrollIntoViewIfNeeded();
    await s.ui.screenshot(org, 'room-lobby-phone.png');
    await org.setViewportSize({ width: 1280, height: 800 });
    await lobby.getByRole('button', { name: 'Ammetti: Bruno Ospite' }).click();
    // The admitted guest's row among the participants (the lobby's row may linger for a moment).
    await org.locator('li.person[data-participant]', { hasText: 'Bruno Ospite' }).waitFor();
    await other.getByRole('toolbar').waitFor();
    assert.equal(await lobby.count(), 0, 'the lobby section goes once nobody knocks');

    // The removed guest's browser mints a new token from the same link: still removed.
    await removed.goto(`${s.fx.baseUrl}${link}`);
    await removed.getByLabel('Nome e cognome').fill('Anna di nuovo');
    await removed.getByRole('button', { name: 'Partecipa' }).click();
    await removed.getByRole('heading', { name: 'Sei stato rimosso' }).waitFor();
    assert.deepEqual(s.ui.errors(['guest']), []);
  });

  it('shows clear pages for invalid, cancelled and expired links', async () => {
    const invalid = await open('invalid', `/m/${'x'.repeat(24)}`);
    await invalid.getByRole('heading', { name: 'Link non valido' }).waitFor();

    const cancelled = await apiMeeting('Annullato');
    assert.equal(
      (await s.fx.api('DELETE', `/api/meetings/${cancelled.id}`, { token: pro.token })).status,
      204,
    );
    const cancelledPage = await open('cancelled', `/m/${cancelled.guestUrl.split('/m/')[1] ?? ''}`);
    await cancelledPage.getByRole('heading', { name: 'Meeting annullato' }).waitFor();

    const res = await s.fx.api('POST', '/api/meetings', {
      token: pro.token,
      body: {
        title: 'Ieri',
        startAt: new Date(Date.now() - 3 * 3_600_000).toISOString(),
        durationMinutes: 60,
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const expired = res.body as MeetingView;
    const expiredPage = await open('expired', `/m/${expired.guestUrl.split('/m/')[1] ?? ''}`);
    await expiredPage.getByRole('heading', { name: 'Meeting scaduto' }).waitFor();
    await s.ui.screenshot(expiredPage, 'guest-expired.png');
    // The unknown code's lookup answers 404, which the browser logs as a failed load: expected there only.
    s.ui.assertNoConsoleErrors(['invalid']);
  });

  it('English and the dark theme persist across a reload and a new sign-in', async () => {
    const page = await open('settings', '/');
    await signIn(page, pro);
    await page.getByRole('button', { name: 'Menu profilo' }).click();
    await page.getByRole('menuitem', { name: 'Impostazioni' }).click();
    await page.getByLabel('Lingua').selectOption('en');
    await page.getByRole('button', { name: 'Create meeting' }).waitFor();
    await page.getByLabel('Dark theme').check();
    await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
    await page.waitForFunction(() => document.querySelector('[data-saving]')?.dataset.saving === 'false');

    await page.reload();
    await page.getByRole('button', { name: 'Create meeting' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');

    // A fresh browser profile: the preferences come from the server.
    const fresh = await open('fresh', '/');
    await fresh.getByRole('heading', { name: 'Autenticazione' }).waitFor();
    await signIn(fresh, pro);
    await fresh.getByRole('button', { name: 'Create meeting' }).waitFor();
    assert.equal(await fresh.evaluate(() => document.documentElement.dataset.theme), 'dark');
    const me = await s.fx.api('GET', '/api/me', { token: pro.token });
    assert.deepEqual((me.body as { preferences: { language: string; darkTheme: boolean } }).preferences, {
      ...(me.body as { preferences: object }).preferences,
      language: 'en',
      darkTheme: true,
    });
    assertNoConsoleErrors();
  });
});
