import assert from 'node:assert/strict';
import {
  callerLabel,
  isExternalNumber,
  ringDeviceOf,
  ringtoneFor,
  shouldNotify,
} from '../../client/src/app/phone/ringing.js';

const phone = { web: true, ringInternal: 'ring1', ringExternal: 'ring2' } as const;

describe('web phone ringing: which ringtone, which speaker, when a desktop notification', () => {
  it('rings internal for any caller of the directory extension format, 2 to 10 digits, and external otherwise', () => {
    // 7 to 10 digits are extensions too (extensionSchema): they rang as external calls before.
    for (const n of ['20', '3001', '123456', '3001234', '0123456789']) {
      assert.equal(isExternalNumber(n), false, n);
      assert.equal(ringtoneFor(n, phone), 'ring1', n);
    }
    for (const n of ['+390212345678', '00390212345678', '01234567890', '7', 'anonymous', '', '30 01']) {
      assert.equal(isExternalNumber(n), true, n);
      assert.equal(ringtoneFor(n, phone), 'ring2', n);
    }
    assert.equal(ringtoneFor('3001', { ...phone, ringInternal: 'ring3' }), 'ring3');
  });

  it('rings on the ringtone device, else on the chosen audio output, else on the default', () => {
    assert.equal(
      ringDeviceOf({ phone: { ...phone, ringDevice: 'ring-id' }, devices: { audioOutput: 'out' } }),
      'ring-id',
    );
    assert.equal(ringDeviceOf({ phone, devices: { audioOutput: 'out' } }), 'out');
    assert.equal(ringDeviceOf({ phone: { ...phone, ringDevice: '' }, devices: {} }), undefined);
    assert.equal(ringDeviceOf({ phone, devices: {} }), undefined);
  });

  it('notifies only with permission, and only when the tab is hidden or the window has not the focus', () => {
    assert.equal(shouldNotify({ hidden: true, focused: false, permission: 'granted' }), true);
    assert.equal(shouldNotify({ hidden: false, focused: false, permission: 'granted' }), true);
    assert.equal(shouldNotify({ hidden: false, focused: true, permission: 'granted' }), false);
    for (const permission of ['denied', 'default', undefined] as const)
      assert.equal(shouldNotify({ hidden: true, focused: false, permission }), false, String(permission));
  });

  it('names the caller with the number, or by the number alone', () => {
    assert.equal(callerLabel('Bianchi Giulia', '3001'), 'Bianchi Giulia (3001)');
    assert.equal(callerLabel(undefined, '3001'), '3001');
    assert.equal(callerLabel('', '3001'), '3001');
  });
});
