import type { z } from 'zod';
import { zodIssuesToDetails } from '../../shared/schemas/validate.js';
import { ValidationError } from '../errors.js';

/** Parses untrusted input with a shared schema; a failure is a 400 VALIDATION_FAILED with one detail per issue. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what = 'request'): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new ValidationError(`Invalid ${what}`, zodIssuesToDetails(parsed.error));
  return parsed.data;
}
