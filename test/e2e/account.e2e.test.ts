import assert from 'node:assert/strict';
import type { Preferences } from '../../shared/schemas/directory.js';
import type { MeetingView } from '../../shared/schemas/meetings.js';
import { startServer, type TestUser } from '../harness/serverFixture.js';
import { SmtpSink } from '../harness/smtpSink.js';
import { uiSuite, type UiPages } from '../harness/uiPages.js';

/** The page's globals, as page.evaluate sees them (this side has no DOM types). */
declare const document: {
  documentElement: { scrollWidth: number };
  querySelector: (
    selector: string,
  ) => { videoWidth: number; getAttribute: (name: string) => string | null } | null;
};
declare const window: { innerWidth: number };

const PHONE = { width: 390, height: 844 };

describe('account and settings in Chromium', function () {
  this.timeout(90_000);
  let smtp: SmtpSink;
  let mario: TestUser;
  beforeEach(async () => {
    smtp = await SmtpSink.start();
  });
  afterEach(async () => {
    await smtp.close();
  });
  const s = uiSuite(() =>
    startServer({ config: { mail: { smtpUrl: smtp.url, from: 'UCC <ucc@example.test>' } } }),
  );

  beforeEach(async () => {
    mario = await s.fx.createUser({
      firstName: 'Mario',
      lastName: 'Rossi',
      plan: 'pro',
      email: 'mario@example.test',
    });
  });

  async function preferences(): Promise<Preferences> {
    const me = await s.fx.api('GET', '/api/me', { token: mario.token });
    return (me.body as { preferences: Preferences }).preferences;
  }

  it('"Recupera password" mails a link whose page sets a new password, then the new one signs in', async () => {
    const page = await s.ui.open('recover', '/');
    await page.getByRole('button', { name: 'Recupera password' }).click();
    await page.getByLabel('Nome utente').fill(mario.extension);
    await page.getByRole('button', { name: 'Invia link' }).click();
    await page.getByRole('status').filter({ hasText: 'riceverai un link' }).waitFor();

    const [mail] = await smtp.waitFor(1);
    const link = /https?:\/\/\S+\/reset-password\?token=[\w%-]+/.exec(mail?.text ?? '')?.[0];
    assert.ok(link, `no reset link in: ${mail?.text ?? ''}`);
    const url = new URL(link);
    const reset = await s.ui.open('reset', `${url.pathname}${url.search}`);
    await reset.getByRole('heading', { name: 'Reimposta la password' }).waitFor();

    // Errors next to the fields, before anything is sent.
    await reset.getByLabel('Nuova password').fill('corta');
    await reset.getByLabel('Ripeti la password').fill('diversa');
    await reset.getByRole('button', { name: 'Salva la password' }).click();
    assert.equal(await reset.locator('#reset-password-error').textContent(), 'Almeno 8 caratteri');
    assert.equal(await reset.locator('#reset-repeat-error').textContent(), 'Le password non coincidono');

    await reset.getByLabel('Nuova password').fill('nuova-password-1');
    await reset.getByLabel('Ripeti la password').fill('nuova-password-1');
    await reset.getByRole('button', { name: 'Salva la password' }).click();
    await reset.getByText('Password aggiornata').waitFor();
    await reset.getByRole('button', { name: "Torna all'accesso" }).click();
    await reset.getByRole('heading', { name: 'Autenticazione' }).waitFor();
    assert.equal(new URL(reset.url()).pathname, '/');
    await s.ui.signIn(reset, { ...mario, password: 'nuova-password-1' });

    // The link was for one use only.
    const again = await s.ui.open('again', `${url.pathname}${url.search}`);
    await again.getByLabel('Nuova password').fill('altra-password-2');
    await again.getByLabel('Ripeti la password').fill('altra-password-2');
    await again.getByRole('button', { name: 'Salva la password' }).click();
    await again.getByRole('alert').filter({ hasText: 'non è valido o è scaduto' }).waitFor();
    s.ui.assertNoConsoleErrors(['again']);
  });

  it('"Il tuo profilo" shows who the user is and changes the password', async () => {
    const page = await s.ui.open('profile', '/');
    await s.ui.signIn(page, mario);
    await page.getByRole('button', { name: 'Menu profilo' }).click();
    await page.getByRole('menuitem', { name: 'Il tuo profilo' }).click();
    await page.getByText('mario@example.test').waitFor();
    assert.match((await page.locator('.profile-data').textContent()) ?? '', new RegExp(mario.extension));

    await page.getByLabel('Password attuale').fill('sbagliata');
    await page.getByLabel('Nuova password').fill('nuova-password-9');
    await page.getByRole('button', { name: 'Cambia password' }).click();
    assert.equal(
      await page.locator('#current-password-error').textContent(),
      'Password attuale non corretta',
    );
    await page.getByLabel('Password attuale').fill(mario.password);
    await page.getByRole('button', { name: 'Cambia password' }).click();
    await page.getByRole('status').filter({ hasText: 'Password cambiata' }).waitFor();

    const old = await s.fx.api('POST', '/api/auth/login', {
      body: { extension: mario.extension, password: mario.password },
    });
    assert.equal(old.status, 401);
    const fresh = await s.fx.api('POST', '/api/auth/login', {
      body: { extension: mario.extension, password: 'nuova-password-9' },
    });
    assert.equal(fresh.status, 200);
    // The wrong attempt answered 400, which the browser logs as a failed load.
    assert.deepEqual(
      s.ui.errors().filter((e) => !e.includes('400')),
      [],
    );
  });

  it('Impostazioni previews the camera, meters the microphone, and keeps the device and sound choices', async () => {
    const page = await s.ui.open('settings', '/');
    await s.ui.signIn(page, mario);
    await page.getByRole('button', { name: 'Menu profilo' }).click();
    await page.getByRole('menuitem', { name: 'Impostazioni' }).click();

    await page.waitForFunction(
      () => (document.querySelector('.device-preview video')?.videoWidth ?? 0) > 0,
      undefined,
      { timeout: 15_000 },
    );
    // Chromium's fake microphone beeps: the meter moves.
    await page.waitForFunction(
      () => Number(document.querySelector('[role=meter]')?.getAttribute('aria-valuenow') ?? 0) > 0,
      undefined,
      { timeout: 15_000 },
    );
    await s.ui.screenshot(page, 'settings.png');

    const mic = page.getByLabel('Microfono', { exact: true });
    const options = await mic
      .locator('option')
      .evaluateAll((els) => els.map((el) => (el as unknown as { value: string }).value));
    assert.ok(options.length > 0, 'the fake microphones are listed');
    const chosen = options[options.length - 1] ?? '';
    if (options.length > 1) {
      await mic.selectOption(chosen);
      await page.getByRole('status').filter({ hasText: 'Salvato' }).waitFor();
      assert.equal((await preferences()).devices.audioInput, chosen);
    }

    await page.getByLabel('Suono di invio dei messaggi').uncheck();
    await page.getByRole('status').filter({ hasText: 'Salvato' }).waitFor();
    assert.equal((await preferences()).sendSound, false);
    await page.reload();
    await page.getByRole('button', { name: 'Menu profilo' }).click();
    await page.getByRole('menuitem', { name: 'Impostazioni' }).click();
    assert.equal(await page.getByLabel('Suono di invio dei messaggi').isChecked(), false);
    assert.equal(await page.getByLabel('Suono per i messaggi in arrivo in background').isChecked(), true);
    // The device list is read once the preview has access.
    if (options.length > 1)
      await page.waitForFunction(
        (id) =>
          (document.querySelector('#settings-audioinput') as unknown as { value: string } | null)?.value ===
          id,
        chosen,
      );
    s.ui.assertNoConsoleErrors();
  });

  it('fits a phone screen: login, guest page with its preview, agenda and chat', async () => {
    const res = await s.fx.api('POST', '/api/meetings', {
      token: mario.token,
      body: { title: 'Dal telefono', startAt: new Date().toISOString(), durationMinutes: 60 },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const meeting = res.body as MeetingView;
    const fits = async (page: Awaited<ReturnType<UiPages['open']>>): Promise<void> => {
      const [scroll, width] = await page.evaluate(() => [
        document.documentElement.scrollWidth,
        window.innerWidth,
      ]);
      assert.ok((scroll ?? 0) <= (width ?? 0), `no sideways scrolling (${scroll} > ${width})`);
    };

    const guest = await s.ui.open('guest', `/m/${meeting.guestUrl.split('/m/')[1] ?? ''}`, {
      viewport: PHONE,
    });
    await guest.getByLabel('Nome e cognome').waitFor();
    await guest.waitForFunction(() => (document.querySelector('.device-preview video')?.videoWidth ?? 0) > 0);
    await fits(guest);
    await s.ui.screenshot(guest, 'phone-guest.png');

    const page = await s.ui.open('phone', '/', { viewport: PHONE });
    await page.getByRole('heading', { name: 'Autenticazione' }).waitFor();
    await fits(page);
    await s.ui.signIn(page, mario);
    await page.locator('li.meeting', { hasText: 'Dal telefono' }).waitFor();
    await fits(page);
    await s.ui.screenshot(page, 'phone-agenda.png');
    await page.getByRole('tab', { name: /^Chat/ }).click();
    await page.getByRole('heading', { name: 'Conversazioni' }).waitFor();
    await fits(page);

    // The room on two phones: the controls are on screen without scrolling.
    await guest.getByLabel('Nome e cognome').fill('Anna');
    await guest.getByRole('button', { name: 'Partecipa' }).click();
    await guest.getByText("In attesa dell'organizzatore…").waitFor();
    await page.getByRole('tab', { name: /^Meeting/ }).click();
    await page
      .locator('li.meeting', { hasText: 'Dal telefono' })
      .getByRole('button', { name: 'Inizia meeting' })
      .click();
    for (const p of [page, guest]) {
      await p.locator('.tile.remote').waitFor();
      await fits(p);
      const leave = await p.getByRole('button', { name: 'Esci dal meeting' }).boundingBox();
      assert.ok(leave && leave.y + leave.height <= PHONE.height, 'the controls are in view');
    }
    await s.ui.screenshot(guest, 'phone-room.png');
    s.ui.assertNoConsoleErrors();
  });
});
