/** MongoDB's (and FerretDB's) duplicate key error: a unique index refused a second document. */
export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 11000;
}
