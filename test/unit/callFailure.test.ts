import assert from 'node:assert/strict';
import { callFailure, transferFailure } from '../../client/src/app/phone/callFailure.js';
import { phoneEn, phoneIt } from '../../client/src/app/phone/strings.js';

// failureKey.ts is left out: it imports the i18n module, which needs the DOM (the client's own tsconfig).
describe('call screen failures (callFailure, transferFailure)', () => {
  it('a transfer to a number that does not exist is told apart from other failed transfers', () => {
    assert.equal(transferFailure(404), 'transferNotFound');
    assert.equal(transferFailure(484), 'transferNotFound');
    assert.equal(transferFailure(604), 'transferNotFound');
    assert.equal(transferFailure(486), 'transfer');
    assert.equal(transferFailure(603), 'transfer');
    assert.equal(transferFailure(undefined), 'transfer');
  });

  it('a failed transfer says the call goes on, in both languages', () => {
    for (const key of ['failTransferNotFound', 'failTransfer'] as const) {
      assert.match(phoneIt[key], /^Trasferimento non riuscito.*continua\.$/);
      assert.match(phoneEn[key], /^Transfer failed.*goes on\.$/);
    }
  });

  it('a call that did not connect keeps its own failures', () => {
    assert.equal(callFailure(404, undefined), 'notFound');
    assert.equal(callFailure(undefined, 'Busy'), 'busy');
  });
});
