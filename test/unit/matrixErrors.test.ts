import assert from 'node:assert/strict';
import { HTTPError, MatrixError } from 'matrix-js-sdk';
import { toChatError } from '../../server/chat/matrix/matrixErrors.js';
import { AppError } from '../../server/errors.js';

function mapped(err: unknown): AppError {
  const out = toChatError(err);
  assert.ok(out instanceof AppError, `not mapped: ${String(out)}`);
  return out;
}

describe('toChatError', () => {
  it('maps an error answer without a Matrix body by its status, never to a 500', () => {
    assert.equal(mapped(new HTTPError('Unsupported Media Type', 415)).code, 'UNSUPPORTED_MEDIA_TYPE');
    assert.equal(mapped(new HTTPError('Bad Gateway', 502)).code, 'CHAT_UNAVAILABLE');
    assert.equal(mapped(new HTTPError('Not Found', 404)).code, 'NOT_FOUND');
    const bad = mapped(new HTTPError('Bad Request', 400));
    assert.equal(bad.status, 400);
    assert.equal(bad.code, 'VALIDATION_FAILED');
  });

  it('keeps the errcode and reason of a Matrix refusal in the details', () => {
    const err = mapped(new MatrixError({ errcode: 'M_INVALID_PARAM', error: 'bad thing' }, 400));
    assert.equal(err.code, 'VALIDATION_FAILED');
    assert.deepEqual(err.details, [{ path: 'request', message: 'M_INVALID_PARAM: bad thing' }]);
  });

  it('answers a message too large for the homeserver as our own body limit does: 413 PAYLOAD_TOO_LARGE', () => {
    const err = mapped(new MatrixError({ errcode: 'M_TOO_LARGE', error: 'event too large' }, 413));
    assert.equal(err.status, 413);
    assert.equal(err.code, 'PAYLOAD_TOO_LARGE');
  });
});
