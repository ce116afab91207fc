/**
 * Stable error codes shared by the server and every client. HTTP answers carry them as
 * `{ error: { code, message, details? } }`; socket acks carry the same body under `error`.
 *
 * This is the one table from code to HTTP status: every server error takes its status from here (`AppError.of`
 * and the classes in server/errors.ts), so a code always answers with the same status.
 */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  /** The path exists, not with this method: the answer's `Allow` header lists those it takes. */
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  /** A per-participant cap (transports, one producer per source): closing something frees room, waiting does not. */
  LIMIT_EXCEEDED: 409,
  MEETING_NOT_FOUND: 404,
  MEETING_EXPIRED: 410,
  MEETING_ENDED: 410,
  MEETING_CANCELLED: 409,
  REMOVED_FROM_MEETING: 403,
  MEETING_FULL: 409,
  /** A dial-in PIN that cannot be one (not digits, too short or too long): no lookup was made. */
  PIN_INVALID: 400,
  /** A well-formed dial-in PIN that no open meeting has. */
  PIN_UNKNOWN: 404,
  /** The homeserver cannot be reached or failed: the chat request was not carried out. */
  CHAT_UNAVAILABLE: 503,
  FILE_TOO_LARGE: 413,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL: 500,
  /** An import file that cannot be read at all (wrong encoding, broken vCard, garbage): nothing was written. */
  INVALID_FILE: 400,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Every code, in the table's order. */
export const ERROR_CODES = Object.keys(ERROR_STATUS) as readonly ErrorCode[];

/** Narrows what a peer sent (a response body, an ack) to one of our codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}

export interface ErrorDetail {
  path: string;
  message: string;
}

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: ErrorDetail[];
  /** RATE_LIMITED socket acks only: how long to wait before the next request (HTTP says it in Retry-After). */
  retryAfterMs?: number;
}

export interface ErrorResponse {
  error: ErrorBody;
}
