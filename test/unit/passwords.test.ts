import assert from 'node:assert/strict';
import { hashPassword, verifyPassword } from '../../server/util/passwords.js';

describe('password hashing', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const stored = await hashPassword('segreto-123');
    assert.match(stored, /^scrypt\$16384\$8\$1\$/);
    assert.equal(await verifyPassword('segreto-123', stored), true);
    assert.equal(await verifyPassword('segreto-124', stored), false);
  });

  it('salts every hash', async () => {
    assert.notEqual(await hashPassword('same'), await hashPassword('same'));
  });

  it('refuses a malformed stored hash instead of throwing', async () => {
    assert.equal(await verifyPassword('x', 'plain-text'), false);
  });
});
