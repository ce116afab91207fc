/**
 * Stable error codes shared by the server and every client. HTTP answers carry them as
 * `{ error: { code, message, details? } }`; socket acks carry the same body under `error`.
 */
export const ERROR_CODES = [
  'VALIDATION_FAILED',
  'UNAUTHENTICATED',
  'INVALID_CREDENTIALS',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'RATE_LIMITED',
  'LIMIT_EXCEEDED',
  'MEETING_NOT_FOUND',
  'MEETING_EXPIRED',
  'MEETING_ENDED',
  'MEETING_CANCELLED',
  'REMOVED_FROM_MEETING',
  'MEETING_FULL',
  'CHAT_UNAVAILABLE',
  'FILE_TOO_LARGE',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'SERVICE_UNAVAILABLE',
  'INTERNAL',
  /** An import file that cannot be read at all (wrong encoding, broken vCard, garbage): nothing was written. */
  'INVALID_FILE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

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
