import express, { type RequestHandler } from 'express';
import { Counter, type Registry } from 'prom-client';
import { FileTooLargeError, UnsupportedMediaTypeError } from '../errors.js';

/** The body limits of the REST API (config.ts: `UCC_HTTP_*`). */
export interface BodyLimits {
  /** Routes anyone may call (login, recovery, a guest's join): the caller is not known yet. */
  publicJsonBytes: number;
  /** JSON of an authenticated caller. */
  jsonBytes: number;
  /** The PBX's full list (sync, JSON) and the CSV import. */
  bulkBytes: number;
  /** Nesting of objects and arrays in any JSON body. */
  jsonMaxDepth: number;
}

/**
 * The body parsers of the REST API. Routers put them after their authorization, so a caller who may not use a
 * route never has a body read; each accepts only its content type (another is 415 before any byte is read).
 */
export interface BodyParsers {
  /** Small JSON, for the routes that need no token. */
  publicJson: RequestHandler;
  /** JSON for authenticated routes. */
  json: RequestHandler;
  /** Large JSON (the PBX sync), for administrators. */
  bulkJson: RequestHandler;
  /** A `text/csv` body (the directory import), for administrators. */
  csv: RequestHandler;
}

export function bodyParsers(limits: BodyLimits, metrics?: Registry): BodyParsers {
  // Bytes the server actually read and parsed, by parser: what an unauthenticated caller could make us do.
  const parsed = new Counter({
    name: 'ucc_http_body_bytes_parsed_total',
    help: 'Request body bytes read and parsed, by body parser',
    labelNames: ['parser'],
    registers: metrics ? [metrics] : [],
  });
  const count =
    (parser: string) =>
    (bytes: number): void => {
      parsed.inc({ parser }, bytes);
    };
  return {
    publicJson: jsonBody({
      limitBytes: limits.publicJsonBytes,
      maxDepth: limits.jsonMaxDepth,
      onRead: count('public_json'),
    }),
    json: jsonBody({ limitBytes: limits.jsonBytes, maxDepth: limits.jsonMaxDepth, onRead: count('json') }),
    bulkJson: jsonBody({
      limitBytes: limits.bulkBytes,
      maxDepth: limits.jsonMaxDepth,
      onRead: count('bulk_json'),
    }),
    csv: csvBody({ limitBytes: limits.bulkBytes, onRead: count('csv') }),
  };
}

export interface JsonBodyOptions {
  limitBytes: number;
  maxDepth: number;
  /**
   * What to do with a `__proto__` key: refuse the body (400), or drop the key. Dropping suits a sender whose
   * retries would repeat the same body forever (Synapse's transactions).
   */
  protoKeys?: 'reject' | 'drop';
  onRead?: (bytes: number) => void;
}

/**
 * `application/json` only, UTF-8 (RFC 8259 §8.1), at most `limitBytes` after decompression, nested at most
 * `maxDepth` deep (checked on the raw bytes before parsing, so depth costs neither stack nor CPU).
 */
export function jsonBody(options: JsonBodyOptions): RequestHandler {
  const dropProto = options.protoKeys === 'drop';
  const parse = express.json({
    type: 'application/json',
    limit: options.limitBytes,
    strict: true,
    verify: (_req, _res, buf, encoding) => {
      if (encoding !== 'utf-8' && encoding !== 'utf8') {
        throw new BodyError(415, 'JSON bodies must be UTF-8', 'charset.unsupported');
      }
      options.onRead?.(buf.byteLength);
      checkJsonDepth(buf, options.maxDepth);
    },
    reviver: (key: string, value: unknown) => {
      if (key !== '__proto__') return value;
      if (dropProto) return undefined;
      // JSON.parse's errors reach the error middleware as entity.parse.failed, with this message.
      throw new Error('A JSON body may not have a "__proto__" key');
    },
  });
  return acceptOnly(['application/json'], parse);
}

/** `text/csv` as a string (any charset the decoder knows; UTF-8 when none is given). */
export function csvBody(options: { limitBytes: number; onRead?: (bytes: number) => void }): RequestHandler {
  const parse = express.text({
    type: 'text/csv',
    limit: options.limitBytes,
    verify: (_req, _res, buf) => options.onRead?.(buf.byteLength),
  });
  return acceptOnly(['text/csv'], parse);
}

/**
 * A request with a body of another type is refused before it is read. A request without a body passes (the
 * route's schema then says what is missing).
 */
function acceptOnly(types: string[], parse: RequestHandler): RequestHandler {
  return (req, res, next) => {
    // null: no body; false: a body of another type, or a Content-Type that does not parse. An empty body
    // (fetch sends `Content-Length: 0` for a PUT without one) is left to the parser and the schema, whatever its
    // type: there is nothing to refuse unread.
    const empty = req.headers['content-length'] === '0';
    if (!empty && req.is(types) === false) {
      next(new UnsupportedMediaTypeError(`Send the body as ${types.join(' or ')}`));
      return;
    }
    void parse(req, res, next);
  };
}

/** A body that was read but is refused; body-parser passes it on with its status and `type`. */
class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
  ) {
    super(message);
  }
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Throws when objects and arrays nest deeper than `maxDepth`. It scans UTF-8 bytes: the structural characters
 * are ASCII and never occur inside a multi-byte sequence. Malformed JSON is left to the parser.
 */
export function checkJsonDepth(buf: Uint8Array, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) {
        throw new BodyError(400, `The JSON body nests deeper than ${maxDepth} levels`, 'entity.too.deep');
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
}

/**
 * A file sent as the raw body, of any content type: `refuse` may turn a type away (415) before a byte is read;
 * a body over `limitBytes` is 413 FILE_TOO_LARGE, early from Content-Length, or while reading one that has none.
 */
export function rawFileBody(
  limitBytes: number,
  refuse: (req: express.Request) => UnsupportedMediaTypeError | undefined,
): RequestHandler {
  const parse = express.raw({ type: () => true, limit: limitBytes });
  return (req, res, next) => {
    const refused = refuse(req);
    if (refused) {
      next(refused);
      return;
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > limitBytes) {
      next(new FileTooLargeError(limitBytes));
      return;
    }
    parse(req, res, (err?: unknown) => {
      const tooLarge =
        typeof err === 'object' && err !== null && 'type' in err && err.type === 'entity.too.large';
      next(tooLarge ? new FileTooLargeError(limitBytes) : err);
    });
  };
}
