/**
 * Why sfu/ refused a media request. These know nothing of HTTP or ack codes: server/signaling/toAck.ts is the one
 * place that turns them into answers. Anything else thrown from here is a bug of ours (INTERNAL).
 */

/** A transport, producer or consumer this participant does not own (or that is gone). */
export class UnknownMediaError extends Error {
  constructor(what: string) {
    super(`unknown ${what}`);
    this.name = 'UnknownMediaError';
  }
}

/** A per-participant cap was reached (transports, one producer per source). */
export class MediaLimitError extends Error {
  constructor(
    message: string,
    /** The request field the cap is about, e.g. `direction` or `source`. */
    readonly field: string,
  ) {
    super(message);
    this.name = 'MediaLimitError';
  }
}

/**
 * The request does not fit the current state (a transport connected twice, produce on a receive transport, an
 * SSRC already taken) or its parameters are not acceptable to mediasoup.
 */
export class MediaRequestError extends Error {
  constructor(
    readonly reason: 'conflict' | 'invalid',
    message: string,
    readonly field = '',
  ) {
    super(message);
    this.name = 'MediaRequestError';
  }
}

/**
 * No media to serve the request right now: the meeting's worker died and its router is being rebuilt (clients
 * are told `media.restart`), or none is left. Not the client's fault, nor a bug: retry shortly.
 */
export class MediaUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MediaUnavailableError';
  }
}

/**
 * Worker refusals (plain `Error`s with the worker's message) that a client causes with what it sends: they must
 * not read as our bugs. Matched on the worker's wording (mediasoup 3.19, worker/src/RTC/…).
 */
const CLIENT_CAUSED_WORKER_ERRORS: RegExp[] = [
  /^connect\(\) already called/,
  /already exists in RTP listener/,
  /^a (Producer|Consumer) with same \w+ already exists/,
];

/**
 * Runs a mediasoup call and classifies its refusals: TypeError and UnsupportedError are parameters mediasoup
 * will not take (invalid), InvalidStateError is an object closed under the request (conflict), and the worker's
 * client-caused errors above are conflicts. Everything else is passed on untouched (a real failure).
 */
export async function mediasoupCall<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    throw classifyMediasoupError(err);
  }
}

export function classifyMediasoupError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  if (
    err instanceof UnknownMediaError ||
    err instanceof MediaLimitError ||
    err instanceof MediaRequestError ||
    err instanceof MediaUnavailableError
  )
    return err;
  // A dead worker's channel: the media is being rebuilt elsewhere, neither the client's fault nor a bug.
  if (err.name === 'InvalidStateError' && err.message.startsWith('Channel closed'))
    return new MediaUnavailableError(err.message);
  if (err instanceof TypeError || err.name === 'UnsupportedError')
    return new MediaRequestError('invalid', err.message);
  if (err.name === 'InvalidStateError') return new MediaRequestError('conflict', err.message);
  if (CLIENT_CAUSED_WORKER_ERRORS.some((re) => re.test(err.message)))
    return new MediaRequestError('conflict', err.message);
  return err;
}
