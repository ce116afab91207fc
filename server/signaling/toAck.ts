import type { Ack } from '../../shared/protocol.js';
import type { ErrorBody } from '../../shared/errors.js';
import {
  classifyMediasoupError,
  MediaLimitError,
  MediaRequestError,
  MediaUnavailableError,
  UnknownMediaError,
} from '../../sfu/mediaErrors.js';
import {
  AppError,
  ConflictError,
  LimitExceededError,
  NotFoundError,
  RateLimitedError,
  ServiceUnavailableError,
  toAppError,
  ValidationError,
} from '../errors.js';
import type { Logger } from '../logger.js';

/**
 * sfu/'s refusals as the client's errors: an id that is not theirs is NOT_FOUND, a cap LIMIT_EXCEEDED, a request
 * that does not fit the state (connect twice, an SSRC taken) CONFLICT, parameters mediasoup will not take
 * VALIDATION_FAILED, media being rebuilt after a worker died SERVICE_UNAVAILABLE. mediasoup errors that were not classified where they were thrown are classified here too.
 */
function fromMedia(err: unknown): AppError | undefined {
  const media = classifyMediasoupError(err);
  if (media instanceof UnknownMediaError) return new NotFoundError(media.message);
  if (media instanceof MediaLimitError)
    return new LimitExceededError(media.message, [{ path: media.field, message: media.message }]);
  if (media instanceof MediaUnavailableError)
    return new ServiceUnavailableError('The media of this meeting is being restored; retry shortly');
  if (media instanceof MediaRequestError) {
    return media.reason === 'conflict'
      ? new ConflictError(media.message)
      : new ValidationError('mediasoup refused the parameters', [
          { path: media.field, message: media.message },
        ]);
  }
  return undefined;
}

/**
 * The one place where errors become socket acks: the same body as over HTTP. Only INTERNAL (a bug of ours) is
 * logged as an error; a dependency that is down is a warning, and a client's mistake is not ours to log.
 */
export function errorAck(err: unknown, logger: Logger): Ack<never> {
  const appError = err instanceof AppError ? err : (fromMedia(err) ?? toAppError(err));
  if (appError.code === 'INTERNAL') logger.error({ err }, 'socket request failed');
  else if (appError.status >= 500) logger.warn({ err: String(err) }, 'socket request failed');
  const body: ErrorBody = appError.toBody();
  if (appError instanceof RateLimitedError) body.retryAfterMs = appError.retryAfterMs;
  return { ok: false, error: body };
}
