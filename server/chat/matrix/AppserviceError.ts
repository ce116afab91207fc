import { AppError } from '../../errors.js';
import { clientErrorOf } from '../../http/clientErrors.js';

/** An error in the Matrix application-service API's own shape (`{ errcode, error }`). */
export class AppserviceError extends AppError {
  constructor(
    status: number,
    readonly errcode: string,
    message: string,
  ) {
    super(
      status,
      status === 403
        ? 'FORBIDDEN'
        : status === 401
          ? 'UNAUTHENTICATED'
          : status === 503
            ? 'SERVICE_UNAVAILABLE'
            : 'NOT_FOUND',
      message,
    );
  }

  /** A body or path the caller got wrong (express's and body-parser's errors), in Matrix's terms: never a 500. */
  static fromClientError(err: unknown): AppserviceError | undefined {
    const known = clientErrorOf(err);
    if (!known) return undefined;
    const type = (err as { type?: unknown }).type;
    const errcode =
      known.status === 413
        ? 'M_TOO_LARGE'
        : type === 'entity.too.deep'
          ? 'M_BAD_JSON'
          : known.status === 415 || type === 'entity.parse.failed'
            ? 'M_NOT_JSON'
            : 'M_UNKNOWN';
    return new AppserviceError(known.status, errcode, known.message);
  }
}
