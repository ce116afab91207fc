import type { z } from 'zod';
import type { ErrorDetail } from '../errors.js';

/** Turns zod issues into the `details` list of a VALIDATION_FAILED error. */
export function zodIssuesToDetails(error: z.ZodError): ErrorDetail[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
}
