import assert from 'node:assert/strict';
import type { z } from 'zod';
import type { ErrorResponse } from '../../shared/errors.js';
import type { ErrorStatus, RequestOf, RouteDef, SuccessOf } from '../../shared/rest/route.js';
import { urlOf } from '../../shared/rest/route.js';
import { errorResponseSchema } from '../../shared/rest/views.js';

/** A route's answer as the contract types it: one of its successes, or one of its errors with the error body. */
export type Answer<R extends RouteDef> = (SuccessOf<R> | ErrorOf<R>) & { headers: Headers };

/** One error answer per listed status, so that `expectStatus(answer, 409)` narrows to it. */
type ErrorOf<R extends RouteDef> = {
  [S in R['errors'][number] & ErrorStatus]: { status: S; body: ErrorResponse };
}[R['errors'][number] & ErrorStatus];

export interface CallOptions {
  token?: string;
  headers?: Record<string, string>;
  /** A raw body (CSV, a file) instead of the contract's JSON one. */
  raw?: { data: string | Uint8Array; type: string };
}

/**
 * Calls a contract route on a live server and checks the answer against the contract: the status must be one
 * the route lists, and the body must parse with that status's schema (so a test sees typed bodies, never
 * `unknown` to cast).
 */
export function restClient(baseUrl: string) {
  return async function call<R extends RouteDef>(
    def: R,
    request: RequestOf<R>,
    options: CallOptions = {},
  ): Promise<Answer<R>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.Authorization = `Bearer ${options.token}`;
    let body: string | Uint8Array | undefined;
    if (options.raw) {
      body = options.raw.data;
      headers['Content-Type'] ??= options.raw.type;
    } else if (request.body !== undefined) {
      body = JSON.stringify(request.body);
      headers['Content-Type'] ??= 'application/json';
    }
    const url = urlOf(def, request);
    const res = await fetch(`${baseUrl}${url}`, { method: def.method.toUpperCase(), headers, body });
    const text = await res.text();
    const label = `${def.method.toUpperCase()} ${url} → ${res.status} ${text.slice(0, 500)}`;
    const json = (): unknown => (text ? JSON.parse(text) : undefined);
    const success = (def.success as Record<number, unknown>)[res.status];
    if (success !== undefined) {
      if (typeof (success as z.ZodType).safeParse !== 'function') {
        return { status: res.status, body: text, headers: res.headers } as Answer<R>;
      }
      const parsed = (success as z.ZodType).safeParse(json());
      assert.ok(parsed.success, `${label}: the body breaks the contract: ${parsed.error?.message}`);
      return { status: res.status, body: parsed.data, headers: res.headers } as Answer<R>;
    }
    assert.ok(
      (def.errors as readonly number[]).includes(res.status),
      `${label}: status ${res.status} is not in the contract`,
    );
    const parsed = errorResponseSchema.safeParse(json());
    assert.ok(parsed.success, `${label}: not the shared error body`);
    return { status: res.status, body: parsed.data, headers: res.headers } as Answer<R>;
  };
}

/** Narrows an answer to the expected status (failing the test with the body otherwise). */
export function expectStatus<A extends { status: number; body: unknown }, S extends A['status']>(
  answer: A,
  status: S,
): Extract<A, { status: S }> {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  return answer as Extract<A, { status: S }>;
}
