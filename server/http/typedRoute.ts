import type { Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import type { Parsed, RouteDef, SuccessOf } from '../../shared/rest/route.js';
import { parseInput } from './validate.js';

/**
 * A route's handler: gets the parsed path parameters, query and body of its contract entry and returns one of
 * the answers the contract lists (the compiler checks status and body), or nothing when it answered itself
 * (a cookie, a file stream).
 */
export type TypedHandler<R extends RouteDef> = (
  input: Parsed<R>,
  req: Request,
  res: Response,
) => Promise<SuccessOf<R> | undefined>;

/**
 * An answer with its status as a literal type: a handler's object literal would widen `status` to number before
 * the compiler compares it with the route's statuses.
 */
export function reply<const S extends number, const B>(status: S, body: B): { status: S; body: B } {
  return { status, body };
}

const none = {};

function parsePart(schema: z.ZodType | undefined, input: unknown, what: string): unknown {
  return schema ? parseInput(schema, input, what) : none;
}

/** Parses the request by the contract (400 VALIDATION_FAILED on a mismatch), runs the handler, sends its answer. */
export function typed<R extends RouteDef>(def: R, handler: TypedHandler<R>): RequestHandler {
  return async (req, res) => {
    const input = {
      params: parsePart(def.params, req.params, 'path'),
      query: parsePart(def.query, req.query, 'query'),
      body: def.body ? parseInput(def.body, req.body) : (req.body as unknown),
    } as Parsed<R>;
    const answer = await handler(input, req, res);
    if (answer === undefined) return;
    res.status(answer.status);
    if (answer.body === undefined) res.end();
    else res.json(answer.body);
  };
}

/**
 * Declares a contract route on its router: its method and path, the middlewares that run first (authorization,
 * limits, the body parser, in that order), then the typed handler.
 */
export function on<R extends RouteDef>(
  router: Router,
  def: R,
  before: readonly RequestHandler[],
  // NoInfer: R comes from `def` alone, so the handler's answers are checked against it (not widened to it).
  handler: TypedHandler<NoInfer<R>>,
): void {
  router[def.method](def.path, ...before, typed(def, handler));
}
