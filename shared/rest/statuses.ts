/** Pieces every area's routes share: the empty answer and the statuses guards and inputs add. */
export const empty = { empty: true } as const;

// The statuses every guarded route can answer: no or a bad token (401), a guest token or the wrong role (403),
// the database down (503, also while the token is checked). A JSON body adds 400 (does not parse or match),
// 413 (over the limit) and 415 (another type); path parameters add 400 and 404.
export const USER = [401, 403, 503] as const;
export const JSON_BODY = [400, 413, 415] as const;
export const BY_ID = [400, 404] as const;
