import { AppError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../errors.js';

/**
 * The errors express, its router and body-parser throw for something the client sent: a body too large, of a
 * charset or encoding we do not take, that does not parse or decompress, a path with a bad `%` escape, a request
 * cut off. They are the client's mistake (4xx), never ours; this says which AppError each one is, or undefined
 * for anything else. Shared by the API's error middleware and the appservice routes.
 */
export function clientErrorOf(err: unknown): AppError | undefined {
  if (err instanceof AppError || typeof err !== 'object' || err === null) return undefined;
  const e = err as {
    type?: unknown;
    status?: unknown;
    statusCode?: unknown;
    expose?: unknown;
    code?: unknown;
    limit?: unknown;
  };
  const message = err instanceof Error ? err.message : '';
  switch (e.type) {
    case 'entity.too.large':
      return new PayloadTooLargeError(typeof e.limit === 'number' ? e.limit : undefined);
    case 'charset.unsupported':
      return new UnsupportedMediaTypeError(message || 'Unsupported charset');
    case 'encoding.unsupported':
      return new UnsupportedMediaTypeError(message || 'Unsupported Content-Encoding');
    case 'entity.parse.failed':
      return AppError.of('VALIDATION_FAILED', 'The request body does not parse', [{ path: 'body', message }]);
    case 'entity.too.deep':
      return AppError.of('VALIDATION_FAILED', message);
    case 'request.aborted':
      return AppError.of('VALIDATION_FAILED', 'The request was aborted');
    case 'request.size.invalid':
      return AppError.of('VALIDATION_FAILED', 'The body does not match its Content-Length');
    default:
      break;
  }
  // A path whose `%` escapes do not decode (express's router marks it 400).
  if (err instanceof URIError) return AppError.of('VALIDATION_FAILED', 'The request path is malformed');
  const status = typeof e.status === 'number' ? e.status : e.statusCode;
  // Only http-errors' client errors (expose: true) are trusted: any other library's `status` might be ours.
  if (typeof status !== 'number' || status < 400 || status >= 500 || e.expose !== true) return undefined;
  // zlib's errors (Z_DATA_ERROR, Z_BUF_ERROR): a body that says gzip, deflate, br or zstd but is not.
  if (typeof e.code === 'string' && /^(Z_|ERR__|ERR_ZSTD|ERR_BROTLI)/.test(e.code)) {
    return AppError.of('VALIDATION_FAILED', 'The body does not decompress as its Content-Encoding says');
  }
  if (status === 404) return AppError.of('NOT_FOUND', 'Not found');
  if (status === 413) return new PayloadTooLargeError();
  if (status === 415) return new UnsupportedMediaTypeError(message || 'Unsupported media type');
  return AppError.of('VALIDATION_FAILED', 'Malformed request');
}
