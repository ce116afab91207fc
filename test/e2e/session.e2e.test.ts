import assert from 'node:assert/strict';
import type { TestUser } from '../harness/serverFixture.js';
import { uiSuite } from '../harness/uiPages.js';

describe('sessions ended by the server, in Chromium', function () {
  this.timeout(90_000);
  const s = uiSuite();
  let mario: TestUser;
  let admin: TestUser;

  beforeEach(async () => {
    mario = await s.fx.createUser({ firstName: 'Mario', lastName: 'Rossi', plan: 'pro' });
    admin = await s.fx.createUser({ role: 'admin', plan: 'pro' });
  });

  it('an account disabled by an admin sends the open app back to the login, saying why', async () => {
    const page = await s.ui.open('disabled', '/');
    await s.ui.signIn(page, mario);
    const res = await s.fx.api('PATCH', `/api/directory/users/${mario.id}`, {
      token: admin.token,
      body: { disabled: true },
    });
    assert.equal(res.status, 200);
    await page.getByRole('heading', { name: 'Autenticazione' }).waitFor();
    await page.getByRole('status').filter({ hasText: 'La tua sessione è stata chiusa' }).waitFor();
    await s.ui.screenshot(page, 'login-session-ended.png');
    await page.setViewportSize({ width: 390, height: 844 });
    await s.ui.screenshot(page, 'login-session-ended-phone.png');
  });

  it('a password change signs out every open browser, saying why; signing out oneself says nothing', async () => {
    const first = await s.ui.open('first', '/');
    await s.ui.signIn(first, mario);
    const second = await s.ui.open('second', '/');
    await s.ui.signIn(second, mario);

    // Signing out in the first browser ends only its own session, without a notice.
    await first.locator('button.avatar').click();
    await first.getByRole('menuitem', { name: 'Esci' }).click();
    await first.getByRole('heading', { name: 'Autenticazione' }).waitFor();
    assert.equal(await first.getByText('La tua sessione è stata chiusa').count(), 0);
    await s.ui.signIn(first, mario);

    // A password change without a session cookie (another device) ends every session.
    const changed = await s.fx.api('POST', '/api/auth/password', {
      token: mario.token,
      body: { currentPassword: mario.password, newPassword: 'nuova-password-1' },
    });
    assert.equal(changed.status, 204);
    for (const page of [first, second]) {
      await page.getByRole('status').filter({ hasText: 'La tua sessione è stata chiusa' }).waitFor();
    }
  });
});
