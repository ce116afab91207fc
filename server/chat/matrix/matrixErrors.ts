import { ConnectionError, HTTPError, MatrixError } from 'matrix-js-sdk';
import {
  AppError,
  ChatUnavailableError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  ValidationError,
} from '../../errors.js';

/** Longest part of the homeserver's own message passed on in an error's details. */
const MAX_REASON_CHARS = 200;

/**
 * Turns what a homeserver call threw into our errors, so that no Matrix refusal surfaces as a 500:
 *
 * - the homeserver unreachable or failing (network error, timeout, 5xx), or refusing our own credentials
 *   (401: a registration out of step with our tokens), is CHAT_UNAVAILABLE (503): the request was not carried out;
 * - its rate limit (M_LIMIT_EXCEEDED, 429) is RATE_LIMITED with its retry delay;
 * - a refusal (M_FORBIDDEN, 403) or an unknown room or event (M_NOT_FOUND, 404) is 403 / 404;
 * - M_TOO_LARGE (413) is a 413 PAYLOAD_TOO_LARGE, the same as a request body over our own limit;
 * - a conflict (409) is CONFLICT;
 * - every other 4xx (M_BAD_JSON, M_INVALID_PARAM, M_MISSING_PARAM, M_UNKNOWN, …) is what the caller sent:
 *   VALIDATION_FAILED, with the errcode and the homeserver's reason in `details`.
 *
 * The Matrix error stays as the mapped error's `cause`, so callers can still tell errcodes apart (matrixErrcode).
 * Anything else is left as it is (a 500: a bug in how we call Matrix).
 */
export function toChatError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  if (err instanceof ConnectionError) return new ChatUnavailableError();
  if (err instanceof MatrixError) return withCause(fromMatrixError(err), err);
  // An error answer whose body is not Matrix JSON (a proxy's page, Synapse's empty 415): mapped by status alone.
  if (err instanceof HTTPError)
    return withCause(fromStatus(err.httpStatus ?? 0, 'M_UNKNOWN', err.message, err), err);
  // fetch() itself (a refused or reset connection, an abort) outside the SDK's wrapping.
  if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')) {
    return new ChatUnavailableError();
  }
  if (err instanceof TypeError && err.message.includes('fetch failed')) return new ChatUnavailableError();
  return err;
}

function fromMatrixError(err: MatrixError): AppError {
  return fromStatus(err.httpStatus ?? 0, err.errcode ?? 'M_UNKNOWN', reasonOf(err), err);
}

function fromStatus(status: number, errcode: string, reason: string, err: HTTPError): AppError {
  if (status >= 500 || status === 0) return new ChatUnavailableError();
  if (errcode === 'M_LIMIT_EXCEEDED' || status === 429) {
    const retryMs = err.getRetryAfterMs() ?? 1_000;
    return new RateLimitedError(Math.max(1, Math.ceil(retryMs / 1000)));
  }
  if (errcode === 'M_FORBIDDEN' || status === 403) return new ForbiddenError('Not allowed in this chat');
  if (errcode === 'M_NOT_FOUND' || status === 404) return new NotFoundError('No such chat or message');
  if (status === 401)
    return new ChatUnavailableError('The homeserver refused the chat service’s credentials');
  if (errcode === 'M_TOO_LARGE' || status === 413) {
    return AppError.of('PAYLOAD_TOO_LARGE', 'Too large for the homeserver');
  }
  if (status === 409) return new ConflictError(`The homeserver refused it (${errcode})`);
  if (status === 415)
    return AppError.of('UNSUPPORTED_MEDIA_TYPE', 'The homeserver does not take this content type');
  if (status >= 400) {
    return new ValidationError('The homeserver refused the request', [
      { path: 'request', message: `${errcode}: ${clip(reason)}` },
    ]);
  }
  // A 3xx or another status a Matrix API never answers: how we call it is wrong.
  return AppError.of('INTERNAL', 'Internal server error');
}

function reasonOf(err: MatrixError): string {
  return typeof err.data.error === 'string' ? err.data.error : 'refused';
}

function clip(reason: string): string {
  return reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS)}…` : reason;
}

function withCause(mapped: AppError, cause: HTTPError): AppError {
  mapped.cause = cause;
  return mapped;
}

/** The Matrix errcode behind an error: a MatrixError's own, or the one an error mapped by toChatError came from. */
export function matrixErrcode(err: unknown): string | undefined {
  if (err instanceof MatrixError) return err.errcode;
  if (err instanceof AppError && err.cause instanceof MatrixError) return err.cause.errcode;
  return undefined;
}

/** A short description for logs: never the request (its URL or headers could carry a token). */
export function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
