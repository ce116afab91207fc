import assert from 'node:assert/strict';
import { classifyDial, nationalDialPlan, trunkDialString } from '../../shared/phoneNumber.js';

const colleagues = new Set(['201', '202']);
const isExtension = (digits: string): boolean => colleagues.has(digits);

describe('phone numbers: extensions and external numbers', () => {
  it('reads a directory extension as internal', () => {
    assert.deepEqual(classifyDial(' 201 ', 'IT', isExtension), { kind: 'extension', number: '201' });
  });

  it('reads Italian numbers in every usual form as the same E.164 number', () => {
    for (const typed of [
      '039 1234567',
      '039-123.45 67',
      '+39 039 1234567',
      '0039 039 1234567',
      '(039) 1234567',
    ]) {
      assert.deepEqual(
        classifyDial(typed, 'IT', isExtension),
        { kind: 'external', e164: '+390391234567' },
        typed,
      );
    }
    assert.deepEqual(classifyDial('342 749 3700', 'IT', isExtension), {
      kind: 'external',
      e164: '+393427493700',
    });
  });

  it('reads a national number in the default country, a "+" one in its own', () => {
    assert.deepEqual(classifyDial('020 7946 0018', 'GB', isExtension), {
      kind: 'external',
      e164: '+442079460018',
    });
    assert.deepEqual(classifyDial('+44 20 7946 0018', 'IT', isExtension), {
      kind: 'external',
      e164: '+442079460018',
    });
  });

  it('refuses what is neither, saying why', () => {
    assert.deepEqual(classifyDial('999', 'IT', isExtension), {
      kind: 'invalid',
      message: 'is no extension of the directory',
    });
    assert.deepEqual(classifyDial('+999 1234', 'IT', isExtension), {
      kind: 'invalid',
      message: 'is not a valid phone number',
    });
    assert.equal(classifyDial('abc', 'IT', isExtension).kind, 'invalid');
    assert.equal(classifyDial('', 'IT', isExtension).kind, 'invalid');
  });

  it('puts the outbound prefix before the E.164 number for the trunk', () => {
    assert.equal(trunkDialString('+390391234567', ''), '+390391234567');
    assert.equal(trunkDialString('+390391234567', '0'), '0+390391234567');
  });

  it('knows which national prefix E.164 drops: none in Italy, 0 in the UK', () => {
    assert.deepEqual(nationalDialPlan('IT'), { callingCode: '39', nationalPrefix: '' });
    assert.deepEqual(nationalDialPlan('GB'), { callingCode: '44', nationalPrefix: '0' });
  });
});
