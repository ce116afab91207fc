import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { MissedCallsView } from '../../shared/schemas/calls.js';
import { BaresipPhone } from '../harness/baresip.js';
import { openRecentCalls, recentCallsTab, seedCallRecords } from '../harness/callRecords.js';
import { eventually } from '../harness/eventually.js';
import { deskPhoneFor, startPhoneEdge, type PhoneEdge } from '../harness/phoneEdge.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';
import { UiPages } from '../harness/uiPages.js';

/** A row of the list, as page.evaluate sees it (this side has no DOM types). */
interface RowElement {
  getAttribute: (name: string) => string | null;
  querySelector: (selector: string) => { textContent: string | null } | null;
}

/**
 * "Chiamate recenti" and the call buttons in Chromium, over real calls: Mario is signed in, he and his colleague
 * Giulia each have a baresip desk phone registered through Kamailio. A call button asks the shell's call action,
 * which (without the web phone) is click-to-call: Mario's desk phone rings first, then Giulia's.
 */
describe('Chiamate recenti and the call buttons in Chromium, with desk phones', function () {
  this.timeout(120_000);
  let edge: PhoneEdge;
  let fx: ServerFixture;
  let ui: UiPages;
  let phonesDir: string;
  let mario: TestUser;
  let giulia: TestUser;
  let m: BaresipPhone;
  let g: BaresipPhone;
  let failed: string | undefined;

  const deskPhone = (user: TestUser, toneHz: number): Promise<BaresipPhone> =>
    deskPhoneFor(fx, edge, phonesDir, user, toneHz);

  function clear(): void {
    m.clearEvents();
    g.clearEvents();
  }

  /** `to` answers; the call ends when the first tone file does. */
  async function answered(from: BaresipPhone, to: BaresipPhone): Promise<void> {
    clear();
    await from.dial(to.extension);
    await to.next('CALL_INCOMING');
    await to.command('accept');
    await Promise.all([from.next('CALL_CLOSED'), to.next('CALL_CLOSED')]);
  }

  /** `from` gives up while `to` rings. */
  async function cancelled(from: BaresipPhone, to: BaresipPhone): Promise<void> {
    clear();
    await from.dial(to.extension);
    await to.next('CALL_INCOMING');
    await from.command('hangup');
    await to.next('CALL_CLOSED');
  }

  /** `to` refuses the call (486). */
  async function rejected(from: BaresipPhone, to: BaresipPhone): Promise<void> {
    clear();
    await from.dial(to.extension);
    await to.next('CALL_INCOMING');
    await to.command('hangup');
    await from.next('CALL_CLOSED');
  }

  /** What a click asked for happens: click-to-call rings Mario's desk phone, then connects it to Giulia's. */
  async function clickToCallReachesGiulia(click: () => Promise<void>, page?: Page): Promise<void> {
    clear();
    await click();
    if (page) {
      // The confirmation names the number and Mario's own terminal; closed here, as a user would.
      const notice = page.locator('.phone-notice');
      await notice.getByText(`dal terminale di Rossi Mario <${mario.extension}>`, { exact: false }).waitFor();
      await notice.getByRole('button', { name: 'Chiudi' }).click();
    }
    const ringing = await m.next('CALL_INCOMING');
    assert.match(ringing.peeruri ?? '', /ucc-bridge/);
    await m.command('accept');
    const incoming = await g.next('CALL_INCOMING');
    assert.match(incoming.peeruri ?? '', new RegExp(`sip:${mario.extension}@`));
    await g.command('accept');
    await Promise.all([m.next('CALL_CLOSED'), g.next('CALL_CLOSED')]);
  }

  async function missedOf(user: TestUser): Promise<MissedCallsView> {
    const res = await fx.api('GET', '/api/calls/missed', { token: user.token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as MissedCallsView;
  }

  /** The rows shown, top to bottom, as "direction outcome peer". */
  async function shownRows(page: Page): Promise<string[]> {
    return page
      .locator('li.call-row')
      .evaluateAll((rows) =>
        (rows as unknown as RowElement[]).map(
          (r) =>
            `${r.getAttribute('data-direction') ?? ''} ${r.getAttribute('data-outcome') ?? ''} ${
              r.querySelector('.call-peer')?.textContent ?? ''
            }`,
        ),
      );
  }

  async function rowsBecome(page: Page, what: string, expected: string[]): Promise<void> {
    let last: string[] = [];
    await eventually(
      `${what}: ${JSON.stringify(expected)} (last ${JSON.stringify(last)})`,
      5_000,
      async () => {
        last = await shownRows(page);
        return JSON.stringify(last) === JSON.stringify(expected) ? true : undefined;
      },
    );
  }

  const filterButton = (page: Page, name: string) =>
    page.getByRole('group', { name: 'Mostra' }).getByRole('button', { name: new RegExp(name) });

  before(async function () {
    this.timeout(60_000);
    phonesDir = await mkdtemp(path.join(tmpdir(), 'ucc-calls-ui-'));
    edge = await startPhoneEdge();
    fx = await startServer({ kamailio: edge.kamailio.endpoint });
    ui = await UiPages.create(fx.baseUrl);
    mario = await fx.createUser({ firstName: 'Mario', lastName: 'Rossi' });
    giulia = await fx.createUser({ firstName: 'Giulia', lastName: 'Bianchi' });
    // Mario's browser stays off the phone ("Telefono via web" off): his calls ring his desk phone only, and the
    // call buttons use click-to-call. The web phone's own calls are phone.e2e's.
    const off = await fx.api('PATCH', '/api/me/preferences', {
      token: mario.token,
      body: { phone: { web: false, ringInternal: 'ring1', ringExternal: 'ring2' } },
    });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    m = await deskPhone(mario, 440);
    g = await deskPhone(giulia, 660);
    await Promise.all([m.next('REGISTER_OK'), g.next('REGISTER_OK')]);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed ??= this.currentTest.title;
  });

  after(async function () {
    this.timeout(30_000);
    await ui?.close(failed);
    await Promise.allSettled([m?.stop(), g?.stop()]);
    await fx?.close();
    await edge?.stop();
    await rm(phonesDir, { recursive: true, force: true });
  });

  it('lists received, missed, outgoing and queue calls with filters and search, counts and clears the missed badge, refreshes live, and calls back', async () => {
    const page = await ui.open('mario', '/');
    await ui.signIn(page, mario);
    const tab = recentCallsTab(page);
    const giuliaLabel = `Bianchi Giulia <${giulia.extension}>`;

    // Received, then one missed (Giulia gives up) and one Mario refuses (486, busy: not a missed call), while
    // Mario is on another tab.
    await answered(g, m);
    await cancelled(g, m);
    await tab.locator('.badge', { hasText: '1' }).waitFor();
    await rejected(g, m);
    await eventually('the refused call recorded', 5_000, async () => {
      const res = await fx.api('GET', '/api/calls', { token: mario.token });
      return (res.body as { calls: { outcome: string }[] }).calls[0]?.outcome === 'busy' ? true : undefined;
    });
    assert.equal((await missedOf(mario)).missed, 1);
    await tab.locator('.badge', { hasText: '1' }).waitFor();
    assert.equal(await tab.getByLabel('1 chiamata persa non vista').count(), 1);
    await ui.screenshot(page, 'calls-badge.png');
    // Outgoing, and one from a queue two days ago (the embedded edge has no queues: written as a queue would).
    await answered(m, g);
    await eventually('the outgoing call recorded', 5_000, async () => {
      const res = await fx.api('GET', '/api/calls?filter=outgoing', { token: mario.token });
      return (res.body as { calls: unknown[] }).calls.length === 1 ? true : undefined;
    });
    await seedCallRecords(fx.db, mario, [
      {
        direction: 'incoming',
        peerNumber: '0212345678',
        outcome: 'answered',
        durationSec: 65,
        queue: 'Assistenza',
        // Giulia took it from the queue and handed it to Mario (a blind transfer).
        transferredBy: { number: giulia.extension, name: 'Bianchi Giulia' },
        startedAt: new Date(Date.now() - 2 * 86_400_000),
      },
    ]);

    // Opening the list shows every call and clears the badge, here and on the server.
    await openRecentCalls(page);
    await page
      .getByRole('heading', {
        level: 2,
        name: `Chiamate recenti dell'utente Rossi Mario <${mario.extension}>`,
        exact: true,
      })
      .waitFor();
    const all = [
      `outgoing answered ${giuliaLabel}`,
      `incoming busy ${giuliaLabel}`,
      `incoming missed ${giuliaLabel}`,
      `incoming answered ${giuliaLabel}`,
      'incoming answered 0212345678',
    ];
    await rowsBecome(page, 'all calls', all);
    await tab.locator('.badge').waitFor({ state: 'detached' });
    assert.equal((await missedOf(mario)).missed, 0);
    assert.deepEqual(await page.locator('.calls-day h3').allTextContents(), [
      'oggi',
      new Intl.DateTimeFormat('it', { day: 'numeric', month: 'short' }).format(
        new Date(Date.now() - 2 * 86_400_000),
      ),
    ]);
    assert.equal(await page.locator('li.call-row.missed').count(), 1);
    await page.locator('li.call-row', { hasText: '0212345678' }).getByText('Dalla coda Assistenza').waitFor();
    await page
      .locator('li.call-row', { hasText: '0212345678' })
      .getByText(`Trasferita da ${giuliaLabel}`)
      .waitFor();
    await page.locator('li.call-row[data-outcome="busy"]').getByText('Occupato').waitFor();
    await page.locator('li.call-row', { hasText: '0212345678' }).getByText('Durata 1:05').waitFor();
    await ui.screenshot(page, 'calls-list.png');

    // The filters: ricevute, perse, effettuate, da coda, tutte.
    await filterButton(page, 'Ricevute').click();
    assert.equal(await filterButton(page, 'Ricevute').getAttribute('aria-pressed'), 'true');
    await rowsBecome(page, 'received', [all[3] ?? '', all[4] ?? '']);
    await filterButton(page, 'Perse').click();
    await rowsBecome(page, 'missed', [all[2] ?? '']);
    await ui.screenshot(page, 'calls-missed.png');
    await filterButton(page, 'Effettuate').click();
    await rowsBecome(page, 'outgoing', [all[0] ?? '']);
    await filterButton(page, 'Da coda').click();
    await rowsBecome(page, 'from a queue', [all[4] ?? '']);
    await filterButton(page, 'Tutte').click();
    await rowsBecome(page, 'all again', all);

    // The search: a colleague's name, part of a number, and nothing.
    const search = page.getByRole('searchbox', { name: 'Cerca' });
    await search.fill('giulia');
    await rowsBecome(page, 'search by name', all.slice(0, 4));
    await search.fill('12345');
    await rowsBecome(page, 'search by number', [all[4] ?? '']);
    await search.fill('nessuno');
    await page.getByText('Nessuna chiamata corrisponde alla ricerca').waitFor();
    await search.fill('');
    await rowsBecome(page, 'search cleared', all);

    // A call that ends while the list is shown comes into it at once, and is seen.
    await cancelled(g, m);
    await rowsBecome(page, 'the live missed call', [`incoming missed ${giuliaLabel}`, ...all]);
    await eventually('the new missed call seen', 5_000, async () =>
      (await missedOf(mario)).missed === 0 ? true : undefined,
    );
    await tab.locator('.badge').waitFor({ state: 'detached' });

    // "Richiama" on a row calls that number through the call action.
    await clickToCallReachesGiulia(() =>
      page
        .locator('li.call-row')
        .first()
        .getByRole('button', { name: `Richiama ${giuliaLabel}` })
        .click(),
    );
    await rowsBecome(page, 'the call back listed', [
      `outgoing answered ${giuliaLabel}`,
      `incoming missed ${giuliaLabel}`,
      ...all,
    ]);
    await page.locator('li.call-row').first().getByText('Click to call').waitFor();
    ui.assertNoConsoleErrors();
  });

  it('calls a colleague from a 1:1 chat header and from the new-chat search, and a Rubrica contact by its number', async () => {
    const dm = await fx.api('POST', '/api/chat/dms', { token: mario.token, body: { userId: giulia.id } });
    assert.equal(dm.status, 201, JSON.stringify(dm.body));
    const contact = await fx.api('POST', '/api/contacts', {
      token: mario.token,
      body: {
        lastName: 'Verdi',
        firstName: 'Luca',
        personal: true,
        numbers: [{ type: 'work', number: giulia.extension }],
      },
    });
    assert.equal(contact.status, 201, JSON.stringify(contact.body));
    const page = await ui.open('mario-buttons', '/');
    await ui.signIn(page, mario);

    await page.getByRole('tab', { name: /^Chat/ }).click();
    await page.locator('button.room-row', { hasText: 'Bianchi Giulia' }).click();
    const header = page.locator('.conversation-head');
    await header.getByRole('heading', { name: 'Bianchi Giulia' }).waitFor();
    await ui.screenshot(page, 'calls-chat-header.png');
    await clickToCallReachesGiulia(() =>
      header.getByRole('button', { name: 'Chiama Bianchi Giulia' }).click(),
    );

    await page.getByRole('button', { name: 'Nuova chat' }).click();
    await page.getByRole('searchbox', { name: 'Seleziona i colleghi' }).fill('bianchi');
    const results = page.getByRole('list', { name: 'Seleziona i colleghi' });
    await clickToCallReachesGiulia(
      () => results.getByRole('button', { name: 'Chiama Bianchi Giulia' }).click(),
      page,
    );
    await page.getByRole('button', { name: 'Annulla', exact: true }).click();

    await page.getByRole('tab', { name: 'Rubrica' }).click();
    const row = page.locator('table.rb-table tbody tr[data-contact-id]', { hasText: 'Verdi' });
    await row.waitFor();
    await ui.screenshot(page, 'calls-rubrica.png');
    await clickToCallReachesGiulia(() =>
      row.getByRole('button', { name: `Chiama Verdi Luca al numero ${giulia.extension}` }).click(),
    );
    ui.assertNoConsoleErrors();
  });
});
