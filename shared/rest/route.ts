import type { z } from 'zod';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Who may call a route: anyone, a directory user (optionally an admin or a PRO user). */
export type RouteAuth = 'public' | 'user' | 'admin' | 'pro';

/** A successful answer: JSON of a schema, no body, or other content types (a file, a calendar). */
export type SuccessBody =
  z.ZodType | { empty: true } | { contentType: string | readonly string[]; description: string };

/** The error statuses a route can answer, each with the shared error body. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 410 | 413 | 415 | 429 | 503;

/**
 * One REST route: where it is, who may call it, what it reads (path parameters, query, body) and every status it
 * answers. The server's routers, the web client, the typed test client and the OpenAPI document all read it.
 */
export interface RouteDef {
  method: HttpMethod;
  /** Where the router is mounted, e.g. `/api/directory`. */
  mount: string;
  /** Express syntax, relative to the mount: `/users/:id`. */
  path: string;
  summary: string;
  auth: RouteAuth;
  params?: z.ZodType;
  query?: z.ZodType;
  /** A JSON body, unless `bodyType` says otherwise. */
  body?: z.ZodType;
  bodyType?: 'json' | 'csv' | 'binary';
  /** The types a binary body may come as (default application/octet-stream); the router refuses others (415). */
  contentTypes?: readonly string[];
  success: Partial<Record<200 | 201 | 202 | 204, SuccessBody>>;
  errors: readonly ErrorStatus[];
}

/** Keeps the literal types of a definition (its statuses and schemas) while checking it is a RouteDef. */
export function route<const R extends RouteDef>(def: R): R {
  return def;
}

type Infer<S> = S extends z.ZodType ? z.output<S> : never;
type Input<S> = S extends z.ZodType ? z.input<S> : never;

/** What the server's handler gets once the request is parsed. */
export interface Parsed<R extends RouteDef> {
  params: R['params'] extends z.ZodType ? Infer<R['params']> : Record<string, never>;
  query: R['query'] extends z.ZodType ? Infer<R['query']> : Record<string, never>;
  body: R['body'] extends z.ZodType
    ? Infer<R['body']>
    : R['bodyType'] extends 'csv' | 'binary'
      ? unknown
      : never;
}

/** What a caller sends. */
export type RequestOf<R extends RouteDef> = (R['params'] extends z.ZodType
  ? { params: Input<R['params']> }
  : { params?: undefined }) &
  (R['query'] extends z.ZodType ? { query?: Input<R['query']> } : { query?: undefined }) &
  (R['body'] extends z.ZodType ? { body: Input<R['body']> } : { body?: undefined });

type BodyOf<B> = B extends z.ZodType ? z.output<B> : B extends { empty: true } ? undefined : unknown;

/** One successful answer of a route, by status. */
export type SuccessOf<R extends RouteDef> = {
  [S in keyof R['success'] & number]: { status: S; body: BodyOf<R['success'][S]> };
}[keyof R['success'] & number];

/** The JSON body of the route's (first) successful answer. */
export type ResponseOf<R extends RouteDef> = SuccessOf<R>['body'];

/** `/users/:id` with `{ id: 'abc' }` → `/users/abc`, each value URI-encoded. */
export function fillPath(path: string, params: Record<string, unknown> | undefined): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => {
    const value = params?.[name];
    if (typeof value !== 'string') throw new Error(`missing path parameter ${name}`);
    return encodeURIComponent(value);
  });
}

/** The full URL path of a request to the route, query included. */
export function urlOf(def: RouteDef, request: { params?: unknown; query?: unknown }): string {
  const path = def.mount + fillPath(def.path, request.params as Record<string, unknown> | undefined);
  const query = Object.entries((request.query ?? {}) as Record<string, unknown>).filter(
    ([, v]) => v !== undefined,
  );
  if (query.length === 0) return path;
  return `${path}?${new URLSearchParams(query.map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
}
