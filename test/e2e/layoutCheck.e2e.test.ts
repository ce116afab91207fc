import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../harness/browser.js';
import { layoutProblems } from '../harness/layoutCheck.js';

/**
 * The layout check itself, on small pages made to show each fault (the agenda card as it was broken among
 * them) and on their fixed versions: it must name every fault, and nothing on a page without one.
 */
describe('layout check (test/harness/layoutCheck.ts) in Chromium', function () {
  this.timeout(30_000);
  let chromium: { browser: Browser; close: () => Promise<void> };
  let page: Page;

  before(async () => {
    chromium = await launchChromium();
    page = await chromium.browser.newPage({ viewport: { width: 1280, height: 800 } });
  });
  after(async () => chromium?.close());

  async function problemsOf(body: string): Promise<string[]> {
    await page.setContent(
      `<!doctype html><html><body style="margin:0;font:16px sans-serif">${body}</body></html>`,
    );
    return layoutProblems(page);
  }

  // Five actions that leave the details beside them a few dozen pixels of a 1200 px card, as the agenda did.
  const BUTTONS = Array.from(
    { length: 5 },
    (_, i) => `<button style="width:220px;white-space:nowrap">Azione ${i + 1}</button>`,
  ).join('');

  it('names the agenda card as it was: title under the actions, one word per line, the link field collapsed', async () => {
    const broken = await problemsOf(`
      <ul style="list-style:none;padding:0;width:1200px"><li style="display:flex;flex-wrap:wrap;gap:1rem">
        <div style="flex:1;min-width:0"><h3>Riunione di reparto del lunedì</h3>
          <label style="display:flex"><span>Link</span><input style="width:100%" value="http://localhost/m/abcdefghijklmnopqrstuvwxyz"></label>
        </div>
        <div style="display:flex;gap:.5rem">${BUTTONS}</div>
      </li></ul>`);
    assert.ok(
      broken.some(
        (p) => p.startsWith('overlapped: "Riunione di reparto del lunedì"') && p.includes('"Azione 1"'),
      ),
      broken.join('\n'),
    );
    assert.ok(
      broken.some((p) => p.startsWith('squeezed: "Riunione di reparto del lunedì"')),
      broken.join('\n'),
    );
    assert.ok(
      broken.some((p) => p.startsWith('narrow control: label > input')),
      broken.join('\n'),
    );

    const fixed = await problemsOf(`
      <ul style="list-style:none;padding:0"><li style="display:grid;grid-template-columns:minmax(0,1fr);gap:1rem">
        <div><h3>Riunione di reparto del lunedì</h3>
          <label style="display:flex"><span>Link</span><input style="flex:1 1 16rem;min-width:12rem" value="http://localhost/m/abcdefghijklmnopqrstuvwxyz"></label>
        </div>
        <div style="display:flex;flex-wrap:wrap;gap:.5rem">${BUTTONS}</div>
      </li></ul>`);
    assert.deepEqual(fixed, []);
  });

  it('names text under another element, but not under a sticky bar it can scroll out from', async () => {
    const covered = await problemsOf(`
      <div style="position:relative;height:100px">
        <h3 style="margin:0">Titolo nascosto</h3>
        <button style="position:absolute;left:0;top:0;width:300px;height:40px">Inizia meeting</button>
      </div>`);
    assert.ok(
      covered.some((p) => p.startsWith('overlapped: "Titolo nascosto"') && p.includes('"Inizia meeting"')),
      covered.join('\n'),
    );

    const sticky = await problemsOf(`
      <div style="height:2000px"><p style="margin-top:770px">Testo che scorre sotto la barra</p></div>
      <div style="position:fixed;bottom:0;left:0;right:0;height:60px;background:#000"><button>Esci</button></div>`);
    assert.deepEqual(sticky, []);

    // A fixed banner over the tabs of a sticky top bar: scrolling never moves one from under the other.
    const overBar = await problemsOf(`
      <div style="height:2000px">
        <header style="position:sticky;top:0;height:80px"><nav style="padding-top:50px">Chat Meeting Telefono</nav></header>
      </div>
      <div style="position:fixed;top:40px;left:0;right:0;height:100px;background:#fff">Chiamata in arrivo</div>`);
    assert.ok(
      overBar.some(
        (p) => p.startsWith('overlapped: "Chat Meeting Telefono"') && p.includes('"Chiamata in arrivo"'),
      ),
      overBar.join('\n'),
    );
  });

  it('names clipped text and a button narrower than its label; leaves screen-reader-only text alone', async () => {
    const clipped = await problemsOf(`
      <div style="width:80px;overflow:hidden;white-space:nowrap">Un testo troppo lungo per la sua scatola</div>
      <div style="width:80px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis">Troncato senza titolo alcuno</div>
      <div title="Troncato con il titolo" style="width:80px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis">Troncato con il titolo</div>
      <button style="width:40px;white-space:nowrap;overflow:visible">Copia link</button>
      <span style="position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap">Menu profilo</span>`);
    assert.ok(
      clipped.some((p) => p.startsWith('clipped: "Un testo troppo lungo per la sua scatola"')),
      clipped.join('\n'),
    );
    assert.ok(
      clipped.some((p) => p.startsWith('clipped: "Troncato senza titolo alcuno"')),
      clipped.join('\n'),
    );
    assert.ok(!clipped.some((p) => p.includes('Troncato con il titolo')), clipped.join('\n'));
    assert.ok(
      clipped.some((p) => p.startsWith('narrow control: button') && p.includes('"Copia link"')),
      clipped.join('\n'),
    );
    assert.ok(!clipped.some((p) => p.includes('Menu profilo')), clipped.join('\n'));
  });

  it('names a page wider than a phone', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      const wide = await problemsOf('<div style="width:600px">Una tabella larga</div>');
      assert.deepEqual(wide, ['page wider than the viewport: 600 px in 390 px']);
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });
});
