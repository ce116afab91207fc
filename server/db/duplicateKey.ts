/**
 * A unique index refused the write: MongoDB's duplicate key error (11000). FerretDB v1 says so with 11000 on an
 * insert, but an update that collides comes back as InternalError (code 1) carrying SQLite's "UNIQUE constraint
 * failed".
 */
export function isDuplicateKey(err: unknown): boolean {
  if (typeof err !== 'object' || err === null || !('code' in err)) return false;
  if (err.code === 11000) return true;
  return err.code === 1 && 'message' in err && String(err.message).includes('UNIQUE constraint failed');
}
