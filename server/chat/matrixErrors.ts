import { ConnectionError, MatrixError } from 'matrix-js-sdk';
import { AppError, ChatUnavailableError, ForbiddenError, NotFoundError } from '../errors.js';

/**
 * Turns what a homeserver call threw into our errors. The homeserver being unreachable or failing (network
 * error, timeout, 5xx, rate limit) is CHAT_UNAVAILABLE, so the client knows its request was not carried out;
 * a refusal or an unknown room is the caller's problem (403 / 404). Anything else is left as it is (a 500: a bug
 * in how we call Matrix).
 */
export function toChatError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  if (err instanceof ConnectionError) return new ChatUnavailableError();
  if (err instanceof MatrixError) {
    const status = err.httpStatus ?? 0;
    if (status >= 500 || status === 429 || err.errcode === 'M_LIMIT_EXCEEDED')
      return new ChatUnavailableError();
    if (err.errcode === 'M_FORBIDDEN' || status === 403)
      return new ForbiddenError('Not allowed in this chat');
    if (err.errcode === 'M_NOT_FOUND' || status === 404) return new NotFoundError('No such chat or message');
    return err;
  }
  // fetch() itself (a refused or reset connection, an abort) outside the SDK's wrapping.
  if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')) {
    return new ChatUnavailableError();
  }
  if (err instanceof TypeError && err.message.includes('fetch failed')) return new ChatUnavailableError();
  return err;
}

export function matrixErrcode(err: unknown): string | undefined {
  return err instanceof MatrixError ? err.errcode : undefined;
}
