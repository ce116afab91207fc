import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { ConflictError, RateLimitedError } from '../../server/errors.js';
import { errorAck } from '../../server/signaling/toAck.js';
import {
  MediaLimitError,
  MediaRequestError,
  MediaUnavailableError,
  UnknownMediaError,
} from '../../sfu/mediaErrors.js';

/** A logger whose lines are kept, to see what was logged at which level. */
function capturingLogger(): { logger: pino.Logger; levels: number[] } {
  const levels: number[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      levels.push((JSON.parse(chunk.toString()) as { level: number }).level);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), levels };
}

/** mediasoup's own error classes are not exported; they are told apart by name, as mediasoup sets it. */
function named(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

function codeOf(err: unknown, logger: pino.Logger): string {
  const ack = errorAck(err, logger);
  return ack.ok ? 'ok' : ack.error.code;
}

describe('errorAck', () => {
  it('maps sfu refusals and mediasoup client errors to 4xx codes', () => {
    const { logger, levels } = capturingLogger();
    const cases: [unknown, string][] = [
      [new UnknownMediaError('transport'), 'NOT_FOUND'],
      [new MediaLimitError('At most 4 transports', 'direction'), 'LIMIT_EXCEEDED'],
      [new MediaRequestError('conflict', 'The transport is already connected'), 'CONFLICT'],
      [new MediaRequestError('invalid', 'bad'), 'VALIDATION_FAILED'],
      [new TypeError('invalid RtpParameters'), 'VALIDATION_FAILED'],
      [named('UnsupportedError', 'unsupported codec [mimeType:audio/nope]'), 'VALIDATION_FAILED'],
      [named('InvalidStateError', 'Transport closed'), 'CONFLICT'],
      [new Error('connect() already called [method:WEBRTCTRANSPORT_CONNECT]'), 'CONFLICT'],
      [new Error('ssrc already exists in RTP listener [ssrc:11111]'), 'CONFLICT'],
      [new Error('MID already exists in RTP listener [mid:0]'), 'CONFLICT'],
      [new ConflictError('taken'), 'CONFLICT'],
    ];
    assert.deepEqual(
      cases.map(([err]) => codeOf(err, logger)),
      cases.map(([, code]) => code),
    );
    assert.ok(
      levels.every((l) => l < 40),
      'a client mistake was logged as a warning or an error',
    );
  });

  it('keeps INTERNAL for what is ours, and logs only that as an error', () => {
    const { logger, levels } = capturingLogger();
    assert.equal(codeOf(new Error('undefined is not a function'), logger), 'INTERNAL');
    assert.deepEqual(levels, [50]);
  });

  it('answers SERVICE_UNAVAILABLE while a dead worker is replaced, logged as a warning', () => {
    const { logger, levels } = capturingLogger();
    assert.equal(
      codeOf(named('InvalidStateError', 'Channel closed, pending request aborted'), logger),
      'SERVICE_UNAVAILABLE',
    );
    assert.equal(
      codeOf(new MediaUnavailableError('meeting media has no router'), logger),
      'SERVICE_UNAVAILABLE',
    );
    assert.deepEqual(levels, [40, 40]);
  });

  it('carries the wait of a RATE_LIMITED in the body, in milliseconds', () => {
    const { logger } = capturingLogger();
    const ack = errorAck(new RateLimitedError(1, 250), logger);
    assert.deepEqual(ack, {
      ok: false,
      error: { code: 'RATE_LIMITED', message: 'Too many attempts; retry in 1 s', retryAfterMs: 250 },
    });
  });
});
