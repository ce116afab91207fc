import assert from 'node:assert/strict';
import { TokenService } from '../../server/auth/TokenService.js';
import { ManualClock } from '../../server/clock.js';

describe('TokenService', () => {
  let clock: ManualClock;
  let tokens: TokenService;

  beforeEach(() => {
    clock = new ManualClock();
    tokens = new TokenService({
      secret: 'unit-test-secret-unit-test-secret-42',
      accessTtlMs: 15 * 60_000,
      guestTtlMs: 60 * 60_000,
      clock,
    });
  });

  it('round-trips access and guest claims', () => {
    const access = tokens.signAccess({ userId: 'u1', extension: '200' });
    assert.equal(access.expiresInMs, 15 * 60_000);
    assert.deepEqual(tokens.verifyAccess(access.token), { userId: 'u1', extension: '200' });
    const guest = tokens.signGuest({ guestId: 'g1', meetingId: 'm1', displayName: 'Anna', linkVersion: 1 });
    assert.deepEqual(tokens.verifyGuest(guest.token), {
      guestId: 'g1',
      meetingId: 'm1',
      displayName: 'Anna',
      linkVersion: 1,
    });
  });

  it('never accepts an access token as a guest token, nor the reverse', () => {
    const access = tokens.signAccess({ userId: 'u1', extension: '200' }).token;
    const guest = tokens.signGuest({
      guestId: 'g1',
      meetingId: 'm1',
      displayName: 'Anna',
      linkVersion: 1,
    }).token;
    assert.throws(() => tokens.verifyGuest(access), { name: 'UnauthenticatedError' });
    assert.throws(() => tokens.verifyAccess(guest), { name: 'UnauthenticatedError' });
  });

  it('expires tokens by the injected clock', () => {
    const access = tokens.signAccess({ userId: 'u1', extension: '200' }).token;
    clock.advance(15 * 60_000 - 1_000);
    assert.equal(tokens.verifyAccess(access).userId, 'u1');
    clock.advance(2_000);
    assert.throws(() => tokens.verifyAccess(access), /expired/);
  });

  it('refuses a token signed with another secret', () => {
    const other = new TokenService({
      secret: 'another-secret-another-secret-4242',
      accessTtlMs: 60_000,
      guestTtlMs: 60_000,
      clock,
    });
    assert.throws(() => tokens.verifyAccess(other.signAccess({ userId: 'u1', extension: '200' }).token));
  });
});
