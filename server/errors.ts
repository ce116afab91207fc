import { ERROR_STATUS, type ErrorBody, type ErrorCode, type ErrorDetail } from '../shared/errors.js';
import { isDatabaseUnavailable } from './db/unavailable.js';

/**
 * The few error classes of the server. Each carries a stable code and the HTTP status that code has in the
 * shared table (`ERROR_STATUS`); they are turned into responses in exactly one place for HTTP
 * (http/errorMiddleware.ts) and one for socket acks (signaling/toAck.ts). Domain errors are made by each domain's
 * factories (meetings/errors.ts, auth/errors.ts, directory/errors.ts), not spelled out at call sites.
 */
export class AppError extends Error {
  /** An error whose status is the table's for its code: the way to make one. */
  static of(code: ErrorCode, message: string, details?: ErrorDetail[]): AppError {
    return new AppError(ERROR_STATUS[code], code, message, details);
  }

  /** Kept for callers that still name the status; prefer `AppError.of`, which reads it from the table. */
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
    this.name = new.target.name;
  }

  toBody(): ErrorBody {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details: ErrorDetail[]) {
    super(ERROR_STATUS.VALIDATION_FAILED, 'VALIDATION_FAILED', message, details);
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'Authentication required', code: ErrorCode = 'UNAUTHENTICATED') {
    super(ERROR_STATUS[code], code, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Not allowed') {
    super(ERROR_STATUS.FORBIDDEN, 'FORBIDDEN', message);
  }
}

export class ConflictError extends AppError {
  constructor(message: string) {
    super(ERROR_STATUS.CONFLICT, 'CONFLICT', message);
  }
}

export class RateLimitedError extends AppError {
  constructor(
    readonly retryAfterSeconds: number,
    /** Finer than seconds, for socket acks (a socket's request budget refills in milliseconds). */
    readonly retryAfterMs = retryAfterSeconds * 1000,
  ) {
    super(ERROR_STATUS.RATE_LIMITED, 'RATE_LIMITED', `Too many attempts; retry in ${retryAfterSeconds} s`);
  }
}

/** A per-participant cap (transports, one producer per source): closing something frees room, waiting does not. */
export class LimitExceededError extends AppError {
  constructor(message: string, details?: ErrorDetail[]) {
    super(ERROR_STATUS.LIMIT_EXCEEDED, 'LIMIT_EXCEEDED', message, details);
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'Not found', code: ErrorCode = 'NOT_FOUND') {
    super(ERROR_STATUS[code], code, message);
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(message: string, code: ErrorCode = 'SERVICE_UNAVAILABLE') {
    super(ERROR_STATUS[code], code, message);
  }
}

/** The homeserver cannot be reached or failed: the chat request was not carried out (nothing is faked). */
export class ChatUnavailableError extends AppError {
  constructor(message = 'Chat is temporarily unavailable') {
    super(ERROR_STATUS.CHAT_UNAVAILABLE, 'CHAT_UNAVAILABLE', message);
  }
}

export class FileTooLargeError extends AppError {
  constructor(readonly limitBytes: number) {
    super(
      ERROR_STATUS.FILE_TOO_LARGE,
      'FILE_TOO_LARGE',
      `The file is larger than the limit of ${limitBytes} bytes`,
    );
  }
}

/** A request body over the route's limit (a chat file has its own FILE_TOO_LARGE). */
export class PayloadTooLargeError extends AppError {
  constructor(limitBytes?: number) {
    super(
      ERROR_STATUS.PAYLOAD_TOO_LARGE,
      'PAYLOAD_TOO_LARGE',
      limitBytes === undefined
        ? 'The request body is too large'
        : `The request body is larger than the limit of ${limitBytes} bytes`,
    );
  }
}

/** A body in a type, charset or Content-Encoding the route does not take. */
export class UnsupportedMediaTypeError extends AppError {
  constructor(message: string) {
    super(ERROR_STATUS.UNSUPPORTED_MEDIA_TYPE, 'UNSUPPORTED_MEDIA_TYPE', message);
  }
}

/**
 * A database outage becomes 503 SERVICE_UNAVAILABLE; anything else that is not an AppError becomes a 500 whose
 * message reveals nothing internal.
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isDatabaseUnavailable(err))
    return new ServiceUnavailableError('The database is unavailable; retry shortly');
  return AppError.of('INTERNAL', 'Internal server error');
}
