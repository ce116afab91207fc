/**
 * The REST client: the access token lives only in memory; the refresh token is the httpOnly cookie, rotated by
 * POST /api/auth/refresh on load and shortly before the access token expires.
 */
import { isErrorCode, type ErrorCode, type ErrorDetail } from '../../../../shared/errors.js';
import type { authRoutes } from '../../../../shared/rest/contract.js';
import { urlOf, type RequestOf, type ResponseOf, type RouteDef } from '../../../../shared/rest/route.js';
import type { Profile, PublicUser } from '../../../../shared/schemas/directory.js';

export type { ErrorDetail };

/** What a request can fail with: a shared error code, or the connection itself (socket requests). */
export type ClientErrorCode = ErrorCode | 'TIMEOUT' | 'DISCONNECTED';

/** The client's one error class, typed by the shared codes; `status` is 0 when no HTTP answer came. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ClientErrorCode,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type LoginAnswer = ResponseOf<typeof authRoutes.login>;

/** Set while a refresh cookie is believed to exist, so a first visit does not fire a refresh bound to fail. */
const SESSION_HINT = 'ucc.session';
const REFRESH_MARGIN_MS = 60_000;

let access: { token: string; expiresAt: number } | undefined;
let refreshing: Promise<boolean> | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;
let onSignedOut: ((ended: boolean) => void) | undefined;
let signingOut = false;
const tokenListeners = new Set<(token: string) => void>();

/** `ended`: the server ended the session (a `session.ended` socket event), rather than a refresh failing. */
export function onSessionLost(listener: (ended: boolean) => void): void {
  onSignedOut = listener;
}

/**
 * Calls `listener` with each new access token (every refresh), so that open sockets can move onto it (the
 * server ends a socket whose token expires). Returns the unsubscribe.
 */
export function onAccessToken(listener: (token: string) => void): () => void {
  tokenListeners.add(listener);
  return () => tokenListeners.delete(listener);
}

/** For callers outside `api()` (the user socket) that find the session gone: back to the login. */
export function sessionLost(ended = false): void {
  clear();
  // Our own logout ends our sockets too: that is no news to tell the user.
  onSignedOut?.(ended && !signingOut);
}

function hint(on: boolean): void {
  try {
    if (on) localStorage.setItem(SESSION_HINT, '1');
    else localStorage.removeItem(SESSION_HINT);
  } catch {
    // Storage disabled: a reload asks for a new login.
  }
}

function hasHint(): boolean {
  try {
    return localStorage.getItem(SESSION_HINT) === '1';
  } catch {
    return false;
  }
}

function accept(answer: LoginAnswer): void {
  access = { token: answer.accessToken, expiresAt: Date.now() + answer.expiresInMs };
  hint(true);
  for (const listener of tokenListeners) listener(answer.accessToken);
  if (timer) clearTimeout(timer);
  timer = setTimeout(
    () => {
      void refresh().then((ok) => {
        if (!ok) onSignedOut?.(false);
      });
    },
    Math.max(5_000, answer.expiresInMs - REFRESH_MARGIN_MS),
  );
}

function clear(): void {
  access = undefined;
  hint(false);
  if (timer) clearTimeout(timer);
  timer = undefined;
}

async function parse(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function toError(status: number, body: unknown): ApiError {
  const err = (body as { error?: { code?: string; message?: string; details?: ErrorDetail[] } } | undefined)
    ?.error;
  // A body without one of our codes (a proxy's error page) is INTERNAL, keeping the status it came with.
  const code = isErrorCode(err?.code) ? err.code : 'INTERNAL';
  return new ApiError(status, code, err?.message ?? `HTTP ${status}`, err?.details ?? []);
}

async function send<T>(method: string, path: string, body: unknown, token: string | undefined): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const parsed = await parse(res);
  if (!res.ok) throw toError(res.status, parsed);
  return parsed as T;
}

/** One refresh at a time: the cookie rotates, and presenting a rotated one would revoke the session. */
export function refresh(): Promise<boolean> {
  refreshing ??= send<LoginAnswer>('POST', '/api/auth/refresh', undefined, undefined)
    .then((answer) => {
      accept(answer);
      return true;
    })
    .catch(() => {
      clear();
      return false;
    })
    .finally(() => {
      refreshing = undefined;
    });
  return refreshing;
}

/** At load: a session comes back from the cookie when one is expected. */
export async function resume(): Promise<boolean> {
  if (!hasHint()) return false;
  return refresh();
}

/** The current access token, refreshed first when it is about to expire. */
export async function accessToken(): Promise<string> {
  if (!access || access.expiresAt - Date.now() < 10_000) {
    if (!(await refresh())) throw new ApiError(401, 'UNAUTHENTICATED', 'Not signed in');
  }
  if (!access) throw new ApiError(401, 'UNAUTHENTICATED', 'Not signed in');
  return access.token;
}

export async function login(extension: string, password: string): Promise<void> {
  signingOut = false;
  accept(await send<LoginAnswer>('POST', '/api/auth/login', { extension, password }, undefined));
}

export async function logout(): Promise<void> {
  signingOut = true;
  try {
    await send<undefined>('POST', '/api/auth/logout', undefined, undefined);
  } finally {
    clear();
  }
}

export async function recover(extension: string): Promise<void> {
  await send<undefined>('POST', '/api/auth/recover', { extension }, undefined);
}

/** An authenticated call; a 401 triggers one refresh and one retry. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  try {
    return await send<T>(method, path, body, await accessToken());
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401 || !(await refresh())) {
      if (err instanceof ApiError && err.status === 401) onSignedOut?.(false);
      throw err;
    }
    return send<T>(method, path, body, await accessToken());
  }
}

/** Sends a raw body (a file) with its type; the answer is JSON. A 401 triggers one refresh and one retry. */
export async function apiUpload<T>(path: string, file: Blob, method: 'POST' | 'PUT' = 'POST'): Promise<T> {
  const attempt = async (): Promise<Response> =>
    fetch(path, {
      method,
      headers: {
        Authorization: `Bearer ${await accessToken()}`,
        // A JSON file would be parsed by the API's JSON body parser: it goes as opaque bytes.
        'Content-Type': file.type && !file.type.includes('json') ? file.type : 'application/octet-stream',
      },
      body: file,
      credentials: 'same-origin',
    });
  let res = await attempt();
  if (res.status === 401 && (await refresh())) res = await attempt();
  const parsed = await parse(res);
  if (!res.ok) throw toError(res.status, parsed);
  return parsed as T;
}

/** Downloads an authenticated resource (a chat file) as a Blob, for an object URL. */
export async function apiBlob(path: string): Promise<Blob> {
  const attempt = async (): Promise<Response> =>
    fetch(path, { headers: { Authorization: `Bearer ${await accessToken()}` }, credentials: 'same-origin' });
  let res = await attempt();
  if (res.status === 401 && (await refresh())) res = await attempt();
  if (!res.ok) throw toError(res.status, await parse(res));
  return res.blob();
}

/**
 * A route of the REST contract (shared/rest/contract.ts): the URL comes from its path parameters and query, the
 * compiler checks the body, and the answer has the route's type. Public routes go without the token.
 */
export function call<R extends RouteDef>(def: R, request: RequestOf<R>): Promise<ResponseOf<R>> {
  const method = def.method.toUpperCase();
  const url = urlOf(def, request);
  return def.auth === 'public'
    ? send<ResponseOf<R>>(method, url, request.body, undefined)
    : api<ResponseOf<R>>(method, url, request.body);
}

/** A call that needs no user token (the guest endpoints). */
export function publicApi<T>(method: string, path: string, body?: unknown): Promise<T> {
  return send<T>(method, path, body, undefined);
}

export type { Profile, PublicUser };
