/**
 * Call queues (administrators): a number that rings its member extensions all at once. The server pushes them
 * to the PBX; calls through one carry its name in "Chiamate recenti" (filter `queue`).
 */
import { z } from 'zod';
import {
  createQueueSchema,
  queueParamsSchema,
  updateQueueSchema,
  type QueuesView,
  type QueueView,
} from '../schemas/queues.js';
import { route } from './route.js';
import { BY_ID, empty, JSON_BODY, USER } from './statuses.js';

export const queueViewSchema = z.strictObject({
  number: z.string(),
  name: z.string(),
  members: z.array(z.string()),
});
export const queuesViewSchema = z.strictObject({ queues: z.array(queueViewSchema) });

export const queueRoutes = {
  list: route({
    method: 'get',
    mount: '/api/queues',
    path: '/',
    summary: 'Every call queue, by number',
    auth: 'admin',
    success: { 200: queuesViewSchema },
    errors: USER,
  }),
  create: route({
    method: 'post',
    mount: '/api/queues',
    path: '/',
    summary: "Creates a queue: a number no user or queue has, members that are users' extensions",
    auth: 'admin',
    body: createQueueSchema,
    success: { 201: queueViewSchema },
    errors: [...USER, ...JSON_BODY, 409],
  }),
  update: route({
    method: 'patch',
    mount: '/api/queues',
    path: '/:number',
    summary: "Changes a queue's name or members",
    auth: 'admin',
    params: queueParamsSchema,
    body: updateQueueSchema,
    success: { 200: queueViewSchema },
    errors: [...USER, ...JSON_BODY, 404],
  }),
  remove: route({
    method: 'delete',
    mount: '/api/queues',
    path: '/:number',
    summary: 'Deletes a queue; its number stops ringing at once',
    auth: 'admin',
    params: queueParamsSchema,
    success: { 204: empty },
    errors: [...USER, ...BY_ID],
  }),
};

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
function same<T extends true>(_: T): void {}
same<Same<z.infer<typeof queueViewSchema>, QueueView>>(true);
same<Same<z.infer<typeof queuesViewSchema>, QueuesView>>(true);
