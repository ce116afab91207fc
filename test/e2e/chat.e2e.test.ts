import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startServer, type TestUser } from '../harness/serverFixture.js';
import { testStack } from '../harness/testStack.js';
import { uiSuite } from '../harness/uiPages.js';

/** The page's document, as page.evaluate sees it (this side has no DOM types). */
declare const document: {
  querySelector: (selector: string) => { naturalWidth: number; src: string } | null;
};

/** A 1×1 PNG, to send as an image. */
const PIXEL_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

describe('chat in Chromium', function () {
  this.timeout(120_000);
  const s = uiSuite(() => {
    const stack = testStack();
    const bridgeUrl = stack.config.matrix.mode === 'embedded' ? stack.config.matrix.bridgeUrl : '';
    // Synapse pushes new messages to the bridge URL it was started with: this server must listen there.
    return startServer({
      config: {
        http: { ...stack.config.http, port: Number(new URL(bridgeUrl).port) },
        // The history test seeds 45 messages faster than anyone types; the limit has tests of its own.
        chat: { ...stack.config.chat, rateLimit: { messages: 1_000, windowMs: 10_000 } },
      },
    });
  });
  let mario: TestUser;
  let giulia: TestUser;

  beforeEach(async () => {
    mario = await s.fx.createUser({ firstName: 'Mario', lastName: 'Rossi', plan: 'pro' });
    giulia = await s.fx.createUser({ firstName: 'Giulia', lastName: 'Bianchi' });
  });

  async function chatTab(page: Page, user: TestUser): Promise<void> {
    await s.ui.signIn(page, user);
    await page.getByRole('tab', { name: /^Chat/ }).click();
    await page.getByRole('heading', { name: 'Conversazioni' }).waitFor();
  }

  async function pick(page: Page, query: string, name: string): Promise<void> {
    await page.getByRole('searchbox', { name: 'Seleziona i colleghi' }).fill(query);
    // Among the search results: the conversation list may hold a button with the same name, and each result
    // its call button ("Chiama <name>").
    await page
      .getByRole('list', { name: 'Seleziona i colleghi' })
      .getByRole('button', { name: new RegExp(`^${name}`) })
      .click();
  }

  it('two colleagues chat 1:1 with an unread badge, read state, typing, a reply and an edit, then make a group', async () => {
    const luca = await s.fx.createUser({ firstName: 'Luca', lastName: 'Verdi' });
    const a = await s.ui.open('mario', '/');
    await chatTab(a, mario);
    const b = await s.ui.open('giulia', '/');
    await chatTab(b, giulia);
    await b.getByText('Nessuna conversazione').waitFor();

    // Mario finds Giulia and starts a 1:1 chat.
    await a.getByRole('button', { name: 'Nuova chat' }).click();
    await pick(a, 'bianchi', 'Bianchi Giulia');
    assert.equal(await a.getByRole('button', { name: 'Inizia chat di gruppo' }).count(), 0);
    await a.getByRole('button', { name: 'Inizia chat', exact: true }).click();
    await a.getByRole('heading', { name: /^Bianchi Giulia/ }).waitFor();
    await a.getByLabel('Scrivi un messaggio').fill('Ciao Giulia, hai un minuto?');
    await a.getByLabel('Scrivi un messaggio').press('Enter');
    const sent = a.locator('li.message.mine', { hasText: 'Ciao Giulia, hai un minuto?' });
    await sent.locator('.read-state', { hasText: 'Inviato' }).waitFor();

    // Giulia sees the conversation arrive with an unread badge, on the list and on the Chat tab.
    const row = b.locator('button.room-row', { hasText: 'Rossi Mario' });
    await row.locator('.badge', { hasText: '1' }).waitFor();
    assert.match((await row.textContent()) ?? '', /Ciao Giulia, hai un minuto\?/);
    await b.getByRole('tab', { name: /^Chat/ }).locator('.badge', { hasText: '1' }).waitFor();
    await s.ui.screenshot(b, 'chat-list.png');

    // Opening it reads it: the badge goes, and Mario sees "Letto".
    await row.click();
    await b.locator('li.message', { hasText: 'Ciao Giulia, hai un minuto?' }).waitFor();
    await row.locator('.badge').waitFor({ state: 'detached' });
    await sent.locator('.read-state', { hasText: 'Letto' }).waitFor();

    // Typing shows on the other side; a reply quotes the message it answers.
    await b.locator('li.message', { hasText: 'Ciao Giulia' }).hover();
    await b
      .locator('li.message', { hasText: 'Ciao Giulia' })
      .getByRole('button', { name: 'Rispondi' })
      .click();
    await b.getByLabel('Scrivi un messaggio').pressSequentially('Certo', { delay: 20 });
    await a.getByText(/^Bianchi Giulia sta scrivendo…$/).waitFor();
    await b.getByRole('button', { name: 'Invia', exact: true }).click();
    const reply = a.locator('li.message:not(.mine)', { hasText: 'Certo' });
    await reply.locator('blockquote', { hasText: 'Ciao Giulia, hai un minuto?' }).waitFor();
    await a.getByText(/^Bianchi Giulia sta scrivendo…$/).waitFor({ state: 'detached' });

    // Mario edits his message; Giulia sees the new text, marked as edited.
    await sent.hover();
    await sent.getByRole('button', { name: 'Modifica' }).click();
    await a.getByLabel('Scrivi un messaggio').fill('Ciao Giulia, hai cinque minuti?');
    await a.getByRole('button', { name: 'Salva', exact: true }).click();
    await b
      .locator('li.message', { hasText: 'Ciao Giulia, hai cinque minuti?' })
      .getByText('modificato')
      .waitFor();
    await s.ui.screenshot(a, 'chat.png');

    // More than one colleague picked: "Inizia chat di gruppo", with a name and a description.
    await a.getByRole('button', { name: 'Nuova chat' }).click();
    await pick(a, 'bianchi', 'Bianchi Giulia');
    await pick(a, 'verdi', 'Verdi Luca');
    await a.getByRole('button', { name: 'Inizia chat di gruppo' }).click();
    await a.getByRole('button', { name: 'Crea gruppo' }).click();
    assert.equal(await a.locator('#group-name-error').textContent(), 'Campo obbligatorio');
    await a.getByLabel('Nome del gruppo').fill('Progetto Alfa');
    await a.getByLabel('Descrizione (facoltativa)').fill('Lancio di marzo');
    await a.getByRole('button', { name: 'Crea gruppo' }).click();
    await a.getByRole('heading', { name: 'Progetto Alfa' }).waitFor();
    // The list may first hold the room as the creator's own join left it; the server's notice brings the members.
    await a.locator('.conversation-head', { hasText: /Lancio di marzo · 3 membri/ }).waitFor();

    // An image sent to the group shows inline on the other side.
    await a.locator('.composer input[type=file]').setInputFiles({
      name: 'pixel.png',
      mimeType: 'image/png',
      buffer: PIXEL_PNG,
    });
    await a.locator('li.message.mine img.chat-image').waitFor();
    const groupRow = b.locator('button.room-row', { hasText: 'Progetto Alfa' });
    await groupRow.click();
    await b.waitForFunction(
      () => (document.querySelector('li.message img.chat-image')?.naturalWidth ?? 0) === 1,
    );

    const rooms = await s.fx.api('GET', '/api/chat/rooms', { token: luca.token });
    assert.deepEqual(
      (rooms.body as { items: { name: string }[] }).items.map((r) => r.name),
      ['Progetto Alfa'],
    );
    s.ui.assertNoConsoleErrors();
  });

  it('a member renames the group, adds and removes colleagues, and leaves it', async () => {
    const luca = await s.fx.createUser({ firstName: 'Luca', lastName: 'Verdi' });
    const anna = await s.fx.createUser({ firstName: 'Anna', lastName: 'Neri' });
    const created = await s.fx.api('POST', '/api/chat/rooms', {
      token: mario.token,
      body: { name: 'Ufficio', memberIds: [giulia.id, luca.id] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const names = async (user: TestUser): Promise<string[]> =>
      (
        (await s.fx.api('GET', '/api/chat/rooms', { token: user.token })).body as {
          items: { name: string }[];
        }
      ).items.map((r) => r.name);

    const page = await s.ui.open('mario', '/');
    await chatTab(page, mario);
    await page.locator('button.room-row', { hasText: 'Ufficio' }).click();
    // An unsent message is kept across a reload.
    await page.getByLabel('Scrivi un messaggio').fill('bozza non inviata');
    await page.reload();
    await page.getByRole('tab', { name: /^Chat/ }).click();
    await page.locator('button.room-row', { hasText: 'Ufficio' }).click();
    assert.equal(await page.getByLabel('Scrivi un messaggio').inputValue(), 'bozza non inviata');
    await page.getByRole('button', { name: 'Dettagli del gruppo' }).click();
    const info = page.locator('.group-info');
    await info.getByLabel('Nome del gruppo').fill('Ufficio acquisti');
    await info.getByRole('button', { name: 'Salva', exact: true }).click();
    await page.getByRole('heading', { name: 'Ufficio acquisti' }).waitFor();

    await info.getByRole('searchbox', { name: 'Aggiungi partecipanti' }).fill('neri');
    await info
      .getByRole('list', { name: 'Aggiungi partecipanti' })
      .getByRole('button', { name: /Neri Anna/ })
      .click();
    await info.getByText(/^Neri Anna/).waitFor();
    await info.getByRole('button', { name: /^Rimuovi Verdi Luca/ }).click();
    await info.getByText(/^Verdi Luca/).waitFor({ state: 'detached' });
    assert.deepEqual(await names(anna), ['Ufficio acquisti']);
    assert.deepEqual(await names(luca), []);

    page.once('dialog', (dialog) => void dialog.accept());
    await info.getByRole('button', { name: 'Esci dal gruppo' }).click();
    await page.locator('button.room-row', { hasText: 'Ufficio acquisti' }).waitFor({ state: 'detached' });
    assert.deepEqual(await names(mario), []);
    assert.deepEqual(await names(giulia), ['Ufficio acquisti']);
    s.ui.assertNoConsoleErrors();
  });

  it('loads older messages when scrolled to the top', async () => {
    const dm = await s.fx.api('POST', '/api/chat/dms', { token: mario.token, body: { userId: giulia.id } });
    assert.ok(dm.status === 201 || dm.status === 200, JSON.stringify(dm.body));
    const { roomId } = dm.body as { roomId: string };
    for (let i = 1; i <= 45; i++) {
      const res = await s.fx.api('POST', `/api/chat/rooms/${encodeURIComponent(roomId)}/messages`, {
        token: mario.token,
        body: { body: `Messaggio numero ${i}` },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    const page = await s.ui.open('giulia', '/');
    await chatTab(page, giulia);
    await page.locator('button.room-row', { hasText: 'Rossi Mario' }).click();
    await page.locator('li.message', { hasText: 'Messaggio numero 45' }).waitFor();
    const first = page.locator('li.message p.text', { hasText: /^Messaggio numero 1$/ });
    assert.equal(await first.count(), 0);
    await page.locator('ol.messages').evaluate((el: { scrollTop: number }) => {
      el.scrollTop = 0;
    });
    await first.waitFor();
    await page.getByText('Inizio della conversazione').waitFor();
    s.ui.assertNoConsoleErrors();
  });
});
