import assert from 'node:assert/strict';
import mongoose from 'mongoose';
import { toAppError } from '../../server/errors.js';

const { mongo } = mongoose;

describe('toAppError: database outages are 503, not 500', () => {
  it('maps network, pool-cleared and closed-client errors of the driver to SERVICE_UNAVAILABLE', () => {
    for (const err of [
      new mongo.MongoNetworkError('connection 3 to 127.0.0.1:27017 closed'),
      new mongo.MongoNetworkTimeoutError('connection timed out'),
      new mongo.MongoNotConnectedError('not connected'),
      new mongo.MongoTopologyClosedError(),
    ]) {
      const mapped = toAppError(err);
      assert.equal(mapped.status, 503, err.name);
      assert.equal(mapped.code, 'SERVICE_UNAVAILABLE');
      // Nothing of the driver's message (addresses, ports) reaches the client.
      assert.doesNotMatch(mapped.message, /127\.0\.0\.1/);
    }
  });

  it('looks through a wrapping error to its cause', () => {
    const wrapped = new Error('saving the meeting failed', { cause: new mongo.MongoNetworkError('reset') });
    assert.equal(toAppError(wrapped).code, 'SERVICE_UNAVAILABLE');
  });

  it('keeps any other failure a 500 INTERNAL', () => {
    assert.equal(toAppError(new Error('a bug')).code, 'INTERNAL');
    assert.equal(
      toAppError(new mongo.MongoServerError({ message: 'E11000 duplicate key', code: 11000 })).code,
      'INTERNAL',
    );
  });
});
