import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import type { Category, Contact, ContactInput, ContactPage } from '../../shared/schemas/contacts.js';
import { type TestUser } from '../harness/serverFixture.js';
import { axeAudit as audit } from '../harness/axe.js';
import { vcardFile } from '../harness/vcard.js';
import { uiSuite } from '../harness/uiPages.js';

/** The page's document, as page.evaluate sees it (this side has no DOM types). */
declare const document: {
  activeElement: { id: string } | null;
  documentElement: { scrollWidth: number; clientWidth: number };
};

const PHONE = { width: 390, height: 844 };
describe('Rubrica in Chromium', function () {
  this.timeout(90_000);
  const s = uiSuite();
  let admin: TestUser;

  beforeEach(async () => {
    admin = await s.fx.createUser({ firstName: 'Anna', lastName: 'Admin', role: 'admin' });
  });

  async function apiCategory(name: string, body: Record<string, unknown> = {}): Promise<Category> {
    const res = await s.fx.api('POST', '/api/categories', { token: admin.token, body: { name, ...body } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as Category;
  }
  async function apiContact(body: Partial<ContactInput>, token = admin.token): Promise<Contact> {
    const res = await s.fx.api('POST', '/api/contacts', { token, body });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as Contact;
  }
  async function contactsOf(user: TestUser, query = ''): Promise<Contact[]> {
    const res = await s.fx.api('GET', `/api/contacts?pageSize=200${query}`, { token: user.token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as ContactPage).items;
  }
  /** Signs in and opens the Rubrica tab on its contacts list. */
  async function openRubrica(
    user: TestUser,
    options: { viewport?: typeof PHONE; bypassCSP?: boolean } = {},
  ): Promise<Page> {
    const page = await s.ui.open('rubrica', '/', options);
    await s.ui.signIn(page, user);
    await page.getByRole('tab', { name: 'Rubrica' }).click();
    await page.getByRole('heading', { name: 'Contatti' }).waitFor();
    return page;
  }
  const rows = (page: Page) => page.locator('table.rb-table tbody tr[data-contact-id]');
  /** The COGNOME column, top to bottom. */
  const lastNames = (page: Page): Promise<string[]> =>
    rows(page).locator('td:nth-child(2)').allTextContents();
  async function noSidewaysScroll(page: Page): Promise<void> {
    const { scrollWidth, clientWidth } = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
    }));
    assert.ok(scrollWidth <= clientWidth + 1, `page ${scrollWidth} px wide in a ${clientWidth} px viewport`);
  }

  it('adds a contact with two numbers and finds it by one of them typed differently', async () => {
    const clienti = await apiCategory('Clienti');
    await apiContact({ lastName: 'Bianchi', firstName: 'Giulia', categoryId: clienti.id });
    const page = await openRubrica(admin);
    await rows(page).first().waitFor();

    await page.getByRole('button', { name: /Aggiungi contatto/ }).click();
    await page.getByRole('heading', { name: 'Aggiungi contatto' }).waitFor();
    await page.getByLabel('Cognome').fill('Verdi');
    await page.getByLabel('Nome', { exact: true }).fill('Luca');
    await page.getByLabel('Società').fill('Società Ottica');
    await page.getByLabel('Categoria').selectOption({ label: 'Clienti' });
    const numberRows = page.getByTestId('rb-number-row');
    await numberRows.nth(0).getByLabel('Tipo').selectOption('mobile');
    await numberRows.nth(0).getByLabel('Numero', { exact: true }).fill('+39 342 749 3700');
    await page.getByRole('button', { name: /Aggiungi un altro Numero/ }).click();
    await numberRows.nth(1).getByLabel('Tipo').selectOption('work');
    await numberRows.nth(1).getByLabel('Numero', { exact: true }).fill('02-1234567');
    await numberRows.nth(1).getByLabel('Selezione veloce').fill('12');
    await s.ui.screenshot(page, 'contacts-form.png');
    await page.getByRole('button', { name: 'SALVA', exact: true }).click();

    await page.getByRole('heading', { name: 'Contatti' }).waitFor();
    await rows(page).filter({ hasText: 'Verdi' }).waitFor();
    const [saved] = await contactsOf(admin, '&q=Verdi');
    assert.equal(saved?.company, 'Società Ottica');
    assert.equal(saved.categoryId, clienti.id);
    assert.deepEqual(
      saved.numbers.map((n) => [n.type, n.number, n.speedDial]),
      [
        ['mobile', '+39 342 749 3700', undefined],
        ['work', '02-1234567', '12'],
      ],
    );

    // The digits without spaces or prefix find the number as it was typed.
    await page.getByRole('searchbox', { name: 'Cerca' }).fill('3427493700');
    await rows(page).filter({ hasText: 'Bianchi' }).waitFor({ state: 'detached' });
    assert.deepEqual(await lastNames(page), ['Verdi']);
    // Accents and case do not matter either.
    await page.getByRole('searchbox', { name: 'Cerca' }).fill('societa OTTICA');
    await page.getByText('1 contatti').waitFor();
    await s.ui.screenshot(page, 'contacts-list.png');
    s.ui.assertNoConsoleErrors();
  });

  it('edits a contact with a picture, shows the server’s conflict on a speed dial, and deletes it', async () => {
    await apiContact({ lastName: 'Primo', numbers: [{ type: 'work', number: '0611111', speedDial: '7' }] });
    const second = await apiContact({ lastName: 'Secondo', numbers: [{ type: 'home', number: '0622222' }] });
    const page = await openRubrica(admin);
    await page.getByRole('button', { name: 'Secondo', exact: true }).click();
    await page.getByRole('heading', { name: 'Modifica contatto' }).waitFor();
    assert.equal(await page.getByLabel('Numero', { exact: true }).inputValue(), '0622222');

    // Speed dial 7 is Primo's: the server says so, and the form shows it.
    await page.getByLabel('Selezione veloce').fill('7');
    await page.getByRole('button', { name: 'Salva e continua le modifiche' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /CONFLICT/ })
      .waitFor();

    const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#0b63ce' } })
      .png()
      .toBuffer();
    await page.getByLabel('Selezione veloce').fill('8');
    await page.getByLabel('Immagine').setInputFiles({ name: 'foto.png', mimeType: 'image/png', buffer: png });
    await page.getByRole('button', { name: 'Salva e continua le modifiche' }).click();
    await page.getByRole('status').filter({ hasText: 'Contatto salvato' }).waitFor();
    // Still on the form, now showing the stored picture (fetched with the token, shown from a blob: URL).
    await page.locator('img.rb-avatar[src^="blob:"]').waitFor();
    const stored = await s.fx.api('GET', `/api/contacts/${second.id}`, { token: admin.token });
    assert.equal((stored.body as Contact).numbers[0]?.speedDial, '8');
    assert.ok((stored.body as Contact).imageUrl);

    await page.getByRole('button', { name: "Torna all'elenco" }).click();
    // Back on the list, the focus is on the contact that was opened.
    await page.locator(`#rb-open-contact-${second.id}:focus`).waitFor();
    await page.getByRole('checkbox', { name: 'Seleziona Secondo' }).check();
    await page.getByLabel('Azione').selectOption({ label: 'Cancella contatti selezionati' });
    await page.getByRole('button', { name: 'Vai' }).click();
    const confirm = page.getByRole('dialog', { name: 'Cancella contatti selezionati' });
    await confirm.getByRole('button', { name: 'Cancella contatti selezionati' }).click();
    await rows(page).filter({ hasText: 'Secondo' }).waitFor({ state: 'detached' });
    assert.deepEqual(
      (await contactsOf(admin)).map((c) => c.lastName),
      ['Primo'],
    );
    // The refused save is the one error the browser logs (Chromium reports every 4xx).
    assert.deepEqual(
      s.ui.errors().filter((e) => !e.includes('status of 409')),
      [],
    );
  });

  it('filters by category and by personal contact, and sorts by a column', async () => {
    const clienti = await apiCategory('Clienti');
    const partner = await apiCategory('Partner');
    await apiContact({ lastName: 'Alfa', categoryId: clienti.id });
    await apiContact({ lastName: 'Beta', categoryId: partner.id });
    await apiContact({ lastName: 'Gamma', categoryId: clienti.id });
    await apiContact({ lastName: 'Delta', personal: true });
    const page = await openRubrica(admin);
    await rows(page).nth(3).waitFor();

    await page.getByLabel('Per categoria').selectOption({ label: 'Clienti' });
    await rows(page).filter({ hasText: 'Beta' }).waitFor({ state: 'detached' });
    assert.deepEqual(await lastNames(page), ['Alfa', 'Gamma']);
    // COGNOME again: descending.
    await page.getByRole('button', { name: /^COGNOME/ }).click();
    await page.locator('th[aria-sort=descending]', { hasText: 'COGNOME' }).waitFor();
    await rows(page).first().filter({ hasText: 'Gamma' }).waitFor();
    assert.deepEqual(await lastNames(page), ['Gamma', 'Alfa']);

    await page.getByLabel('Per categoria').selectOption({ label: 'Tutti' });
    await rows(page).nth(3).waitFor();
    await page.getByLabel('Per contatto personale').selectOption({ label: 'Solo personali' });
    await rows(page).filter({ hasText: 'Alfa' }).waitFor({ state: 'detached' });
    assert.equal(await rows(page).count(), 1);
    assert.deepEqual(await lastNames(page), ['Delta']);
    s.ui.assertNoConsoleErrors();
  });

  it('pages through the contacts 25 at a time', async () => {
    for (let i = 1; i <= 27; i++) await apiContact({ lastName: `Contatto ${String(i).padStart(2, '0')}` });
    const page = await openRubrica(admin);
    await page.getByText('Pagina 1 di 2').waitFor();
    assert.equal(await rows(page).count(), 25);
    await page.getByRole('button', { name: 'Pagina successiva' }).click();
    await page.getByText('Pagina 2 di 2').waitFor();
    assert.deepEqual(await lastNames(page), ['Contatto 26', 'Contatto 27']);
    assert.equal(await page.getByRole('button', { name: 'Pagina successiva' }).isDisabled(), true);
    s.ui.assertNoConsoleErrors();
  });

  it('imports a vCard: the preview first, nothing saved, then the confirmed import', async () => {
    const page = await openRubrica(admin);
    await page.getByText('Nessun contatto').waitFor();
    const upload = page.getByRole('button', { name: 'CARICA VCARD' });
    await upload.click();
    const dialog = page.getByRole('dialog', { name: 'CARICA VCARD' });
    await dialog.waitFor();
    await dialog.getByLabel('Scegli il file').setInputFiles({
      name: 'rubrica.vcf',
      mimeType: 'text/vcard',
      buffer: vcardFile([
        ['N:Esposito;Marco;;;', 'FN:Marco Esposito', 'ORG:Esposito Srl', 'TEL;TYPE=CELL:+39 333 111 2222'],
        ['N:Ferrari;Chiara;;;', 'FN:Chiara Ferrari', 'TEL;TYPE=WORK:06 5555 0101'],
      ]),
    });
    const report = dialog.getByTestId('rb-import-report');
    await report.getByText('Anteprima: nulla è ancora stato salvato').waitFor();
    assert.equal(await report.getByText('Nuovi: 2').count(), 1);
    assert.match((await report.textContent()) ?? '', /Esposito Marco/);
    await s.ui.screenshot(page, 'contacts-import.png');
    assert.deepEqual(await contactsOf(admin), [], 'a dry run writes nothing');

    await dialog.getByRole('button', { name: 'Conferma l’importazione' }).click();
    await report.getByText('Importazione completata').waitFor();
    assert.deepEqual((await contactsOf(admin)).map((c) => c.lastName).sort(), ['Esposito', 'Ferrari']);
    await dialog.getByRole('button', { name: 'Chiudi' }).last().click();
    await dialog.waitFor({ state: 'detached' });
    // The focus is back on the button that opened the dialog, and the list shows what came in.
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'rb-import-vcard');
    await rows(page).filter({ hasText: 'Ferrari' }).waitFor();
    assert.equal(await rows(page).count(), 2);
    s.ui.assertNoConsoleErrors();
  });

  it('shows the server’s error for a file it cannot read, and saves nothing', async () => {
    const page = await openRubrica(admin);
    await page.getByRole('button', { name: 'CARICA VCARD' }).click();
    const dialog = page.getByRole('dialog', { name: 'CARICA VCARD' });
    await dialog.getByLabel('Scegli il file').setInputFiles({
      name: 'broken.vcf',
      mimeType: 'text/vcard',
      buffer: Buffer.from('BEGIN:VCARD\r\nthis is not a card\r\n', 'utf8'),
    });
    await dialog
      .getByRole('alert')
      .filter({ hasText: /INVALID_FILE|VALIDATION_FAILED/ })
      .waitFor();
    assert.equal(await dialog.getByRole('button', { name: 'Conferma l’importazione' }).isDisabled(), true);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.deepEqual(await contactsOf(admin), []);
  });

  it('exports the selection as CSV, what the search shows as vCard, and the sample CSV', async () => {
    await apiContact({
      lastName: 'Rossi',
      firstName: 'Mario',
      numbers: [{ type: 'mobile', number: '3331234567' }],
    });
    await apiContact({ lastName: 'Neri', firstName: 'Paolo' });
    await apiContact({ lastName: 'Gialli', firstName: 'Sara' });
    const page = await openRubrica(admin);
    await rows(page).nth(2).waitFor();
    await page.getByRole('checkbox', { name: 'Seleziona Rossi Mario' }).check();
    await page.getByRole('checkbox', { name: 'Seleziona Gialli Sara' }).check();
    await page.getByText('2 di 3 selezionati').waitFor();
    await page.getByLabel('Azione').selectOption({ label: 'Scarica i contatti selezionati in formato CSV' });
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Vai' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'contatti.csv');
    const csv = await readFile((await download.path()) ?? '', 'utf8');
    assert.match(csv, /Rossi/);
    assert.match(csv, /Gialli/);
    assert.doesNotMatch(csv, /Neri/);
    assert.match(csv, /3331234567/);

    // With nothing selected, the export takes what the search shows.
    await page.getByRole('checkbox', { name: 'Seleziona tutti i contatti della pagina' }).check();
    await page.getByRole('checkbox', { name: 'Seleziona tutti i contatti della pagina' }).uncheck();
    await page.getByRole('searchbox', { name: 'Cerca' }).fill('neri');
    await rows(page).filter({ hasText: 'Rossi' }).waitFor({ state: 'detached' });
    await page
      .getByLabel('Azione')
      .selectOption({ label: 'Scarica i contatti selezionati in formato Vcard' });
    await page.getByText('Nessun contatto selezionato').waitFor();
    const [vcf] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Vai' }).click(),
    ]);
    assert.equal(vcf.suggestedFilename(), 'contatti.vcf');
    const cards = await readFile((await vcf.path()) ?? '', 'utf8');
    assert.equal(cards.match(/BEGIN:VCARD/g)?.length, 1);
    assert.match(cards, /Neri/);

    const [sample] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'SCARICA ESEMPIO CSV' }).click(),
    ]);
    assert.equal(sample.suggestedFilename(), 'esempio-contatti.csv');
    assert.match(await readFile((await sample.path()) ?? '', 'utf8'), /externalId,lastName,firstName/);
    s.ui.assertNoConsoleErrors();
  });

  it('creates a category with a membership, then deletes it and its contacts move to "No category"', async () => {
    const giulia = await s.fx.createUser({ firstName: 'Giulia', lastName: 'Bianchi' });
    const page = await openRubrica(admin);
    await page.getByRole('button', { name: 'Categorie', exact: true }).click();
    await page.getByRole('button', { name: /AGGIUNGI CATEGORIA/ }).click();
    await page.getByLabel('Nome', { exact: true }).fill('Fornitori');
    await page.getByLabel('Chiunque può visualizzare i contatti di questa categoria').check();
    await page.getByRole('searchbox', { name: 'Aggiungi un utente' }).fill('Bianchi');
    await page.getByRole('button', { name: /Bianchi Giulia/ }).click();
    await page.getByRole('checkbox', { name: 'Modifica contatti: Bianchi Giulia' }).check();
    await s.ui.screenshot(page, 'contacts-category.png');
    await page.getByRole('button', { name: 'SALVA', exact: true }).click();

    const row = page.locator('tr[data-category-id]', { hasText: 'Fornitori' });
    await row.waitFor();
    const listed = await s.fx.api('GET', '/api/categories', { token: admin.token });
    const fornitori = (listed.body as { items: Category[] }).items.find((c) => c.name === 'Fornitori');
    assert.equal(fornitori?.public, true);
    assert.deepEqual(
      fornitori.memberships.map((m) => [m.userId, m.editContacts, m.editCategories]),
      [[giulia.id, true, false]],
    );
    // Giulia's right is real: she may now add a contact to it.
    await apiContact({ lastName: 'Fornitore', categoryId: fornitori.id }, giulia.token);

    await page.getByRole('checkbox', { name: 'Seleziona Fornitori' }).check();
    await page.getByRole('button', { name: 'Cancella le categorie selezionate' }).click();
    const confirm = page.getByRole('dialog', { name: 'Cancella le categorie selezionate' });
    assert.match((await confirm.textContent()) ?? '', /No category/);
    await confirm.getByRole('button', { name: 'Cancella le categorie selezionate' }).click();
    await row.waitFor({ state: 'detached' });
    const [moved] = await contactsOf(admin, '&q=Fornitore');
    assert.equal(moved?.categoryId, null);
    s.ui.assertNoConsoleErrors();
  });

  it('a user without rights reads the shared contacts but is offered no change', async () => {
    const clienti = await apiCategory('Clienti', { public: true });
    await apiContact({ lastName: 'Bianchi', firstName: 'Giulia', categoryId: clienti.id });
    const reader = await s.fx.createUser({ firstName: 'Luca', lastName: 'Lettore' });
    const page = await openRubrica(reader, { viewport: PHONE });
    await rows(page).filter({ hasText: 'Bianchi' }).waitFor();
    await page.getByTestId('rb-read-only').waitFor();
    // "Cancella contatti selezionati" is not among the actions, even with a row selected.
    await page.getByRole('checkbox', { name: 'Seleziona Bianchi Giulia' }).check();
    const actions = await page.getByLabel('Azione').locator('option').allTextContents();
    assert.ok(!actions.includes('Cancella contatti selezionati'), actions.join(', '));
    await noSidewaysScroll(page);
    await s.ui.screenshot(page, 'contacts-phone-readonly.png');

    // The contact opens read-only: no save buttons, the fields disabled.
    await page.getByRole('button', { name: 'Bianchi', exact: true }).click();
    await page.getByRole('heading', { name: 'Bianchi Giulia' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'SALVA', exact: true }).count(), 0);
    assert.equal(await page.getByLabel('Cognome').isDisabled(), true);
    await page.getByRole('button', { name: "Torna all'elenco" }).click();

    // Categorie: no add button, no delete, no link into the form.
    await page.getByRole('button', { name: 'Categorie', exact: true }).click();
    await page.locator('tr[data-category-id]', { hasText: 'Clienti' }).waitFor();
    assert.equal(await page.getByRole('button', { name: /AGGIUNGI CATEGORIA/ }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Cancella le categorie selezionate' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Clienti' }).count(), 0);
    s.ui.assertNoConsoleErrors();
  });

  it('lays the list and the form out for a phone', async () => {
    const clienti = await apiCategory('Clienti');
    await apiContact({
      lastName: 'Bianchi',
      firstName: 'Giulia',
      company: 'Bianchi Costruzioni',
      categoryId: clienti.id,
      numbers: [{ type: 'mobile', number: '+39 342 749 3700' }],
    });
    const page = await openRubrica(admin, { viewport: PHONE });
    await rows(page).first().waitFor();
    await noSidewaysScroll(page);
    await s.ui.screenshot(page, 'contacts-phone-list.png');
    await page.getByRole('button', { name: /Aggiungi contatto/ }).click();
    await page.getByRole('heading', { name: 'Aggiungi contatto' }).waitFor();
    await noSidewaysScroll(page);
    await s.ui.screenshot(page, 'contacts-phone-form.png');
    s.ui.assertNoConsoleErrors();
  });

  it('speaks English on request, and "Save and add another" starts a fresh form', async () => {
    const res = await s.fx.api('PATCH', '/api/me/preferences', {
      token: admin.token,
      body: { language: 'en' },
    });
    assert.equal(res.status, 200);
    const page = await s.ui.open('rubrica', '/');
    await s.ui.signIn(page, admin);
    await page.getByRole('tab', { name: 'Contacts' }).click();
    await page.getByRole('button', { name: 'Add contact +' }).click();
    await page.getByLabel('Last name').fill('Smith');
    await page.getByLabel('Company').fill('Acme');
    await page.getByRole('button', { name: 'Save and add another' }).click();
    // A fresh form: React keeps the value attribute in step with the field, so this waits for the new form.
    await page.locator('#rb-lastName[value=""]').waitFor();
    assert.equal(await page.getByLabel('Company').inputValue(), '');
    await page.getByRole('heading', { name: 'Add contact' }).waitFor();
    assert.deepEqual(
      (await contactsOf(admin)).map((c) => [c.lastName, c.company]),
      [['Smith', 'Acme']],
    );
    s.ui.assertNoConsoleErrors();
  });

  for (const theme of ['light', 'dark'] as const) {
    it(`the list, the form, the import dialog and the categories have no serious axe findings (${theme})`, async () => {
      if (theme === 'dark') {
        const res = await s.fx.api('PATCH', '/api/me/preferences', {
          token: admin.token,
          body: { darkTheme: true },
        });
        assert.equal(res.status, 200);
      }
      const clienti = await apiCategory('Clienti', { public: true });
      await apiContact({ lastName: 'Bianchi', firstName: 'Giulia', categoryId: clienti.id });
      const page = await openRubrica(admin, { bypassCSP: true });
      await rows(page).first().waitFor();
      const found: Record<string, string[]> = { list: await audit(page) };
      await page.getByRole('button', { name: 'CARICA VCARD' }).click();
      await page.getByRole('dialog').waitFor();
      found.import = await audit(page);
      await page.keyboard.press('Escape');
      await page.getByRole('dialog').waitFor({ state: 'detached' });
      await page.getByRole('button', { name: /Aggiungi contatto/ }).click();
      await page.getByRole('heading', { name: 'Aggiungi contatto' }).waitFor();
      found.form = await audit(page);
      await page.getByRole('button', { name: 'Categorie', exact: true }).click();
      await page.locator('tr[data-category-id]', { hasText: 'Clienti' }).waitFor();
      found.categories = await audit(page);
      await page.getByRole('button', { name: 'Clienti', exact: true }).click();
      await page.getByRole('heading', { name: 'Modifica categoria' }).waitFor();
      found.category = await audit(page);
      assert.deepEqual(found, { list: [], import: [], form: [], categories: [], category: [] });
    });
  }
});
