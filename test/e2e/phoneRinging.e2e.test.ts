import assert from 'node:assert/strict';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { freePort, freeTcpUdpPort } from '../../server/stack/ports.js';
import type { Preferences } from '../../shared/schemas/directory.js';
import type { BaresipPhone } from '../harness/baresip.js';
import { eventually } from '../harness/eventually.js';
import { phoneE2eFixture } from '../harness/phoneE2eFixture.js';
import type { TestUser } from '../harness/serverFixture.js';
import { runSipp } from '../harness/sipp.js';

/** The trunk's DIDs ("+39 039 1234" + an extension), and an outside caller (Milano) that SIPp plays. */
const DID_PREFIX = '+390391234';
const OUTSIDE_CALLER = '+390212345678';

/** The notes of each ringtone (client/src/app/phone/ringtones.ts): what tells them apart in the page. */
const TONES = { ring1: [440, 480], ring2: [660, 880, 1100], ring3: [784, 1046] } as const;

/** One ring as the page made it: its notes, whether it sounds now, the outputs asked for and how each went. */
interface Ring {
  freqs: number[];
  live: boolean;
  sinks: { id: string; result: string }[];
}
interface Note {
  title: string;
  body: string;
  closed: boolean;
}

/** The page's globals, as page.evaluate sees them (this side has no DOM types). */
declare const window: {
  __rings: () => Ring[];
  __notes: (Note & { onclick: (() => void) | null })[];
  __page: { hidden: boolean; focused: boolean; focusCalls: number };
  __background: (on: boolean) => void;
  __outputs: () => Promise<string[]>;
  Notification: { permission: string };
};
declare const document: {
  activeElement: { textContent: string | null } | null;
};

/**
 * Spies the test reads, the app does not (a string: what the TypeScript loader adds to compiled functions does
 * not exist in the page):
 * - each ring: the Web Audio graph ringtones.ts makes (a MediaStream destination), the notes started in its
 *   AudioContext, the <audio> element that plays its stream, and the setSinkId calls on that element;
 * - Notification: a stand-in that records each notification (the permission stays the browser's);
 * - the page's visibility and focus, which the test sets to put the tab in the background.
 */
const SPIES = `
  const rings = [];
  const ringOf = (pred) => rings.find(pred);
  const makeDest = AudioContext.prototype.createMediaStreamDestination;
  AudioContext.prototype.createMediaStreamDestination = function (...args) {
    const dest = makeDest.apply(this, args);
    rings.push({ ctx: this, stream: dest.stream, freqs: new Set(), el: undefined, sinks: [] });
    return dest;
  };
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...args) {
    ringOf((r) => r.ctx === this.context)?.freqs.add(this.frequency.value);
    return start.apply(this, args);
  };
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function (...args) {
    const r = ringOf((x) => x.stream === this.srcObject);
    if (r) r.el = this;
    return play.apply(this, args);
  };
  const setSinkId = HTMLMediaElement.prototype.setSinkId;
  HTMLMediaElement.prototype.setSinkId = function (id) {
    const r = ringOf((x) => x.stream === this.srcObject);
    const sink = { id, result: 'pending' };
    r?.sinks.push(sink);
    return setSinkId.call(this, id).then(
      (v) => { sink.result = 'ok'; return v; },
      (e) => { sink.result = e.name; throw e; },
    );
  };
  window.__rings = () => rings.map((r) => ({
    freqs: [...r.freqs].sort((a, b) => a - b),
    live: !!r.el && !r.el.paused && r.el.srcObject === r.stream && r.ctx.state === 'running',
    sinks: r.sinks.map((s) => ({ ...s })),
  }));

  const Real = window.Notification;
  window.__notes = [];
  window.Notification = class {
    constructor(title, options = {}) {
      this.title = title;
      this.body = options.body ?? '';
      this.closed = false;
      this.onclick = null;
      window.__notes.push(this);
    }
    static get permission() { return Real.permission; }
    static requestPermission(...args) { return Real.requestPermission(...args); }
    close() { this.closed = true; }
  };

  window.__page = { hidden: false, focused: true, focusCalls: 0 };
  Object.defineProperty(Document.prototype, 'visibilityState', {
    configurable: true,
    get: () => (window.__page.hidden ? 'hidden' : 'visible'),
  });
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => window.__page.hidden });
  Document.prototype.hasFocus = () => window.__page.focused;
  const focus = window.focus;
  window.focus = function () {
    window.__page.focusCalls++;
    window.__page.hidden = false;
    window.__page.focused = true;
    return focus.call(this);
  };
  window.__background = (on) => {
    window.__page.hidden = on;
    window.__page.focused = !on;
    document.dispatchEvent(new Event('visibilitychange'));
  };
  window.__outputs = async () =>
    (await navigator.mediaDevices.enumerateDevices())
      .filter((d) => d.kind === 'audiooutput' && d.deviceId !== 'default')
      .map((d) => d.deviceId);
`;

describe('web phone ringing: the ringtone per call type, the ring device, the desktop notification', function () {
  this.timeout(120_000);
  /** Where SIPp stands in for the carrier: calls from there to a DID come in as external calls. */
  let carrierPort: number;
  const px = phoneE2eFixture({
    name: 'ringing',
    noAnswerTimeoutMs: 30_000,
    dialPlan: async () => {
      carrierPort = await freeTcpUdpPort();
      const trunkUri = `sip:127.0.0.1:${carrierPort}`;
      return { country: 'IT', trunkUri, outboundPrefix: '', didPrefix: DID_PREFIX };
    },
    initScript: SPIES,
    people: {
      mario: { firstName: 'Mario', lastName: 'Rossi' },
      giulia: { firstName: 'Giulia', lastName: 'Bianchi', desk: { toneHz: 440, toneMs: 60_000 } },
      // Extensions of up to 10 digits are in the directory: a colleague with a long one is still internal.
      luca: {
        firstName: 'Luca',
        lastName: 'Verdi',
        extension: '4100777',
        desk: { toneHz: 660, toneMs: 60_000 },
      },
    },
  });
  let mario: TestUser;
  let giulia: TestUser;
  let desk: BaresipPhone;
  let longDesk: BaresipPhone;
  let page: Page;

  const rings = (): Promise<Ring[]> => page.evaluate(() => window.__rings());
  const notes = (): Promise<Note[]> =>
    page.evaluate(() => window.__notes.map((n) => ({ title: n.title, body: n.body, closed: n.closed })));
  const banner = (): ReturnType<Page['getByRole']> =>
    page.getByRole('alertdialog', { name: 'Chiamata in arrivo' });

  /** The ring that sounds now (exactly one), once it does. */
  async function ringing(what: string): Promise<Ring> {
    return eventually(`${what}: a ring sounds in the page`, 10_000, async () => {
      const live = (await rings()).filter((r) => r.live);
      assert.ok(live.length <= 1, `one ring at a time: ${JSON.stringify(live)}`);
      return live[0];
    });
  }

  async function silent(what: string): Promise<void> {
    await eventually(`${what}: no ring sounds any more`, 10_000, async () =>
      (await rings()).some((r) => r.live) ? undefined : true,
    );
  }

  async function preferences(): Promise<Preferences> {
    const me = await px.fx.api('GET', '/api/me', { token: mario.token });
    return (me.body as { preferences: Preferences }).preferences;
  }

  async function openSettings(): Promise<void> {
    await page.getByRole('button', { name: 'Menu profilo' }).click();
    await page.getByRole('menuitem', { name: 'Impostazioni' }).click();
  }

  async function closeSettings(): Promise<void> {
    await page.locator('section.panel').getByRole('button', { name: 'Chiudi' }).click();
  }

  async function saved(): Promise<void> {
    await page.getByRole('status').filter({ hasText: 'Salvato' }).waitFor();
  }

  async function signedInAndRegistered(): Promise<void> {
    await page.getByRole('tab', { name: /^Telefono/ }).click();
    await page.locator('[data-registration="registered"]').waitFor({ timeout: 20_000 });
  }

  /** After a call the browser answered: the desk phone hangs up, the call screen is dismissed. */
  async function deskHangsUp(phone: BaresipPhone): Promise<void> {
    await phone.command('hangup');
    await phone.next('CALL_CLOSED');
    await page.getByText('Chiamata terminata').waitFor();
    await page.getByRole('button', { name: 'Chiudi', exact: true }).click();
  }

  /** The browser rejects ("Rifiuta") the ringing call: the caller gets 603. */
  async function reject(phone: BaresipPhone): Promise<void> {
    await banner().getByRole('button', { name: 'Rifiuta' }).click();
    const closed = await phone.next('CALL_CLOSED');
    assert.match(closed.param ?? '', /603|Decline/);
    await banner().waitFor({ state: 'detached' });
  }

  before(() => {
    ({ page } = px);
    ({ mario, giulia } = px.users);
    desk = px.desk('giulia');
    longDesk = px.desk('luca');
  });

  beforeEach(() => {
    desk.clearEvents();
    longDesk.clearEvents();
  });

  // A failed test may leave its call up: hung up here, the next test does not meet a busy line.
  afterEach(async function () {
    if (this.currentTest?.state !== 'failed') return;
    await desk.command('hangup').catch(() => undefined);
    await longDesk.command('hangup').catch(() => undefined);
  });

  it('"Suoni di avviso" sets the ringtones: a colleague rings the internal one until answered, and the preview plays the chosen one', async () => {
    await openSettings();
    await page.getByRole('group', { name: 'Suoni di avviso' }).waitFor();
    // Both away from their defaults (Suoneria 1 internal, 2 external), so that the ring proves the setting.
    await page.getByLabel('Ricezione chiamata interna').selectOption({ label: 'Suoneria 3' });
    await saved();
    const before = (await rings()).length;
    await page.getByLabel('Ricezione chiamata esterna').selectOption({ label: 'Suoneria 1' });
    await saved();
    const phone = (await preferences()).phone;
    assert.equal(phone.ringInternal, 'ring3');
    assert.equal(phone.ringExternal, 'ring1');
    // Choosing a ringtone plays it once (a call from outside rings the external one in the last test).
    const preview = await eventually('the preview of Suoneria 1 plays', 10_000, async () => {
      return (await rings()).slice(before).find((r) => r.freqs.length > 0);
    });
    assert.deepEqual(preview.freqs, TONES.ring1);
    await px.ui.screenshot(page, 'ringing-settings.png');
    await closeSettings();
    await silent('the preview ends by itself');

    await page.getByRole('tab', { name: /^Chat/ }).click();
    await desk.dial(mario.extension);
    await banner().waitFor();
    assert.match(
      (await banner().textContent()) ?? '',
      new RegExp(`Chiamata in arrivo da Bianchi Giulia \\(${giulia.extension}\\)`),
    );
    const ring = await ringing('a call from a colleague');
    assert.deepEqual(ring.freqs, TONES.ring3, 'the internal ringtone, Suoneria 3');
    await px.ui.screenshot(page, 'ringing-banner-chat.png');
    await banner().getByRole('button', { name: 'Rispondi' }).click();
    await desk.next('CALL_ESTABLISHED');
    await page.getByText('In conversazione').waitFor();
    await silent('answered');
    await deskHangsUp(desk);
  });

  it('a colleague of a 7-digit extension rings the internal ringtone too; the ring stops when the caller gives up, and on Rifiuta', async () => {
    await longDesk.dial(mario.extension);
    await banner().waitFor();
    // Named from the directory: the desk phone sends its number only.
    assert.match((await banner().textContent()) ?? '', /Chiamata in arrivo da Verdi Luca \(4100777\)/);
    assert.deepEqual((await ringing('a call from 4100777')).freqs, TONES.ring3);
    await longDesk.command('hangup');
    await longDesk.next('CALL_CLOSED');
    await banner().waitFor({ state: 'detached' });
    await silent('the caller hung up');

    await desk.dial(mario.extension);
    await banner().waitFor();
    await ringing('a second call');
    await reject(desk);
    await silent('rejected');
  });

  it('in the background: a desktop notification names the caller, its click brings the call forward; none in the foreground', async () => {
    await page.evaluate(() => window.__background(true));
    const seen = (await notes()).length;
    await desk.dial(mario.extension);
    const note = await eventually('a desktop notification', 10_000, async () => (await notes())[seen]);
    assert.equal(note.title, 'Chiamata in arrivo');
    assert.equal(note.body, `Chiamata in arrivo da Bianchi Giulia (${giulia.extension})`);
    await ringing('in the background');
    await page.evaluate((i) => window.__notes[i]?.onclick?.(), seen);
    assert.equal(await page.evaluate(() => window.__page.focusCalls), 1, 'the click focuses the window');
    assert.equal((await notes())[seen]?.closed, true, 'and closes the notification');
    // The banner's answer button has the focus: Enter answers.
    await eventually('the answer button has the focus', 5_000, async () =>
      (await page.evaluate(() => document.activeElement?.textContent)) === 'Rispondi' ? true : undefined,
    );
    await px.ui.screenshot(page, 'ringing-banner-after-notification.png');
    await page.keyboard.press('Enter');
    await desk.next('CALL_ESTABLISHED');
    await page.getByText('In conversazione').waitFor();
    await silent('answered from the notification');
    await deskHangsUp(desk);

    // In the foreground the banner is enough.
    await page.evaluate(() => window.__background(false));
    await desk.dial(mario.extension);
    await banner().waitFor();
    await ringing('in the foreground');
    assert.equal((await notes()).length, seen + 1, 'no notification in the foreground');
    // Left for another tab while it rings: the notification comes then, and goes with the call.
    await page.evaluate(() => window.__background(true));
    const late = await eventually(
      'a notification once the tab is hidden',
      10_000,
      async () => (await notes())[seen + 1],
    );
    assert.equal(late.closed, false);
    await desk.command('hangup');
    await desk.next('CALL_CLOSED');
    await silent('the caller gave up');
    await eventually('the notification closes with the call', 10_000, async () =>
      (await notes())[seen + 1]?.closed ? true : undefined,
    );
    assert.equal((await notes()).length, seen + 2, 'one notification per call');
    await page.evaluate(() => window.__background(false));
  });

  it('rings on the ring device chosen in the settings; a device that is gone falls back to the default and still rings', async () => {
    const outputs = await page.evaluate(() => window.__outputs());
    const device = outputs[outputs.length - 1];
    assert.ok(device, "Chromium's fake audio outputs are listed");
    await openSettings();
    await page.getByLabel('Dispositivo della suoneria').selectOption(device);
    await saved();
    await closeSettings();
    assert.equal((await preferences()).phone.ringDevice, device);
    await desk.dial(mario.extension);
    await banner().waitFor();
    const ring = await ringing('on the chosen device');
    assert.deepEqual(ring.freqs, TONES.ring3);
    // It sounds only once the browser has set its device: no first notes on the default output.
    assert.deepEqual(ring.sinks, [{ id: device, result: 'ok' }]);
    await reject(desk);
    await silent('rejected');

    // The headset chosen then is unplugged: its id is saved, the browser no longer has it.
    const gone = 'c0ffee'.repeat(10) + 'dead';
    const res = await px.fx.api('PATCH', '/api/me/preferences', {
      token: mario.token,
      body: { phone: { ...(await preferences()).phone, ringDevice: gone } },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await page.reload();
    const login = page.getByLabel('Nome utente');
    await page
      .getByRole('tab', { name: /^Telefono/ })
      .or(login)
      .waitFor();
    if (await login.isVisible()) await px.ui.signIn(page, mario);
    await signedInAndRegistered();
    desk.clearEvents();
    await desk.dial(mario.extension);
    await banner().waitFor();
    const fallback = await ringing('on a device that is gone');
    assert.deepEqual(fallback.freqs, TONES.ring3);
    // Refused by the browser, and the ring still sounds, on the default output.
    assert.deepEqual(fallback.sinks, [{ id: gone, result: 'NotFoundError' }]);
    await reject(desk);
    await silent('rejected');
  });

  it('without the notification permission the call still rings and shows, in the background too', async () => {
    await page.context().clearPermissions();
    assert.notEqual(await page.evaluate(() => window.Notification.permission), 'granted');
    await page.evaluate(() => window.__background(true));
    const seen = (await notes()).length;
    await desk.dial(mario.extension);
    await banner().waitFor();
    assert.deepEqual((await ringing('without permission')).freqs, TONES.ring3);
    assert.equal((await notes()).length, seen, 'no notification without permission');
    await page.evaluate(() => window.__background(false));
    await reject(desk);
    await silent('rejected');
    px.ui.assertNoConsoleErrors();
  });
  it('a call from outside through the trunk ("+39…") rings the external ringtone of "Suoni di avviso", a colleague the internal one', async () => {
    await openSettings();
    // Both unlike their defaults and unlike each other, so that each ring proves its setting.
    await page.getByLabel('Ricezione chiamata interna').selectOption({ label: 'Suoneria 2' });
    await saved();
    await page.getByLabel('Ricezione chiamata esterna').selectOption({ label: 'Suoneria 3' });
    await saved();
    assert.deepEqual(
      {
        internal: (await preferences()).phone.ringInternal,
        external: (await preferences()).phone.ringExternal,
      },
      { internal: 'ring2', external: 'ring3' },
    );
    await closeSettings();
    await silent('the previews end by themselves');

    // The carrier calls Mario's DID from a Milano number: Kamailio lets it in from the trunk's address only.
    const sipp = runSipp({
      scenario: 'carrier-call',
      port: carrierPort,
      mediaPort: await freePort(),
      dir: path.join(px.dir, 'sipp-ringing'),
      remote: `127.0.0.1:${px.edge.kamailio.endpoint.sipPort}`,
      service: `${DID_PREFIX}${mario.extension}`,
      vars: { caller: OUTSIDE_CALLER },
    });
    await banner().waitFor();
    // An outside number is shown as it came, in E.164, with no name from the directory.
    assert.match(
      (await banner().textContent()) ?? '',
      new RegExp(`Chiamata in arrivo da \\${OUTSIDE_CALLER}`),
    );
    const outside = await ringing('a call from outside');
    assert.deepEqual(outside.freqs, TONES.ring3, 'the external ringtone, Suoneria 3');
    await px.ui.screenshot(page, 'ringing-banner-external.png');
    await banner().getByRole('button', { name: 'Rifiuta' }).click();
    // The carrier got the browser's 603 (the scenario takes it as a refusal and ends).
    const run = await sipp.done;
    assert.equal(run.code, 0, run.stdout + run.stderr);
    await banner().waitFor({ state: 'detached' });
    await silent('the outside call rejected');

    await desk.dial(mario.extension);
    await banner().waitFor();
    assert.deepEqual(
      (await ringing('a call from a colleague')).freqs,
      TONES.ring2,
      'the internal one, Suoneria 2',
    );
    await reject(desk);
    await silent('rejected');
    px.ui.assertNoConsoleErrors();
  });
});
