/** Presence's part of the REST contract: the state of a few colleagues at once (pushes follow on the socket). */
import { z } from 'zod';
import { PRESENCE_STATES, presenceQuerySchema, type PresenceView } from '../schemas/presence.js';
import { route } from './route.js';
import { USER } from './statuses.js';

export const presenceViewSchema = z.strictObject({
  userId: z.string(),
  extension: z.string(),
  state: z.enum(PRESENCE_STATES),
});
// Compile-time: the schema and its interface accept the same values, both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
function same<T extends true>(_: T): void {}
same<Same<z.infer<typeof presenceViewSchema>, PresenceView>>(true);

export const presenceListSchema = z.strictObject({ presence: z.array(presenceViewSchema) });

export const presenceRoutes = {
  get: route({
    method: 'get',
    mount: '/api/presence',
    path: '/',
    summary: 'The presence of these users (unknown or deleted ids are left out)',
    auth: 'user',
    query: presenceQuerySchema,
    success: { 200: presenceListSchema },
    errors: [...USER, 400],
  }),
};
