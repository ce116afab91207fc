import mongoose from 'mongoose';

const { mongo } = mongoose;

/**
 * The driver's and mongoose's ways of saying "the database cannot be reached right now": no server to select,
 * a dropped or timed-out socket (a cleared pool is one of these), a closed client, a buffered call that timed out.
 * These are an outage (503), not a bug of ours (500). Wrapped errors are looked through via `cause`.
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 3) return false;
  if (
    err instanceof mongo.MongoNetworkError ||
    err instanceof mongo.MongoServerSelectionError ||
    err instanceof mongo.MongoNotConnectedError ||
    err instanceof mongo.MongoTopologyClosedError ||
    err instanceof mongo.MongoServerClosedError ||
    err instanceof mongoose.Error.MongooseServerSelectionError
  ) {
    return true;
  }
  if (err instanceof mongoose.Error && /buffering timed out|before initial connection/.test(err.message)) {
    return true;
  }
  return isDatabaseUnavailable(err.cause, depth + 1);
}
