import assert from 'node:assert/strict';
import { ERROR_CODES, ERROR_STATUS, isErrorCode } from '../../shared/errors.js';
import {
  AppError,
  ChatUnavailableError,
  ConflictError,
  FileTooLargeError,
  ForbiddenError,
  LimitExceededError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  ServiceUnavailableError,
  toAppError,
  UnauthenticatedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../server/errors.js';
import * as meetingErrors from '../../server/meetings/errors.js';
import * as authErrors from '../../server/auth/errors.js';
import * as directoryErrors from '../../server/directory/errors.js';

describe('the error table', () => {
  it('gives every code a 4xx or 5xx status', () => {
    assert.ok(ERROR_CODES.length > 0);
    for (const code of ERROR_CODES) {
      const status = ERROR_STATUS[code];
      assert.ok(status >= 400 && status < 600, `${code} → ${status}`);
    }
  });

  it('tells our codes from anything else a peer might send', () => {
    assert.equal(isErrorCode('MEETING_FULL'), true);
    assert.equal(isErrorCode('toString'), false);
    assert.equal(isErrorCode('meeting_full'), false);
    assert.equal(isErrorCode(404), false);
  });

  it('AppError.of takes the status from the table', () => {
    const err = AppError.of('MEETING_EXPIRED', 'over', [{ path: 'x', message: 'y' }]);
    assert.equal(err.status, 410);
    assert.deepEqual(err.toBody(), {
      code: 'MEETING_EXPIRED',
      message: 'over',
      details: [{ path: 'x', message: 'y' }],
    });
  });

  it('every error class answers with its code’s status from the table', () => {
    const made: AppError[] = [
      new ValidationError('v', []),
      new UnauthenticatedError(),
      new UnauthenticatedError('no', 'INVALID_CREDENTIALS'),
      new ForbiddenError(),
      new ConflictError('c'),
      new RateLimitedError(1),
      new LimitExceededError('l'),
      new NotFoundError(),
      new NotFoundError('m', 'MEETING_NOT_FOUND'),
      new ServiceUnavailableError('s'),
      new ChatUnavailableError(),
      new FileTooLargeError(1),
      new PayloadTooLargeError(),
      new UnsupportedMediaTypeError('u'),
      toAppError(new Error('a bug')),
    ];
    for (const err of made) assert.equal(err.status, ERROR_STATUS[err.code], err.name);
  });

  it('every domain factory answers with its code’s status from the table', () => {
    const factories = { ...meetingErrors, ...authErrors, ...directoryErrors };
    assert.ok(Object.keys(factories).length >= 15);
    for (const [name, factory] of Object.entries(factories)) {
      const err = (factory as (arg: string) => AppError)('x');
      assert.ok(err instanceof AppError, name);
      assert.equal(err.status, ERROR_STATUS[err.code], name);
    }
  });
});
