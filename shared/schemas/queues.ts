import { z } from 'zod';
import { extensionSchema } from './directory.js';

/** A call queue's name, as "Chiamate recenti" shows it ("Assistenza"). */
const queueNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .refine((s) => !/[\p{Cc}]/u.test(s), 'must not contain control characters');

/** Directory extensions that ring together; each at most once. */
const membersSchema = z
  .array(extensionSchema)
  .min(1)
  .max(50)
  .refine((m) => new Set(m).size === m.length, 'must not repeat an extension');

/** POST /api/queues: a number no user has, a name, and the member extensions. */
export const createQueueSchema = z.strictObject({
  number: extensionSchema,
  name: queueNameSchema,
  members: membersSchema,
});
export type CreateQueueRequest = z.input<typeof createQueueSchema>;

/** PATCH /api/queues/:number: the fields given change. */
export const updateQueueSchema = z.strictObject({
  name: queueNameSchema.optional(),
  members: membersSchema.optional(),
});

export const queueParamsSchema = z.strictObject({ number: extensionSchema });

export interface QueueView {
  number: string;
  name: string;
  members: string[];
}

export interface QueuesView {
  queues: QueueView[];
}
