import { Router } from 'express';
import { queueRoutes as routes } from '../../shared/rest/queuesContract.js';
import type { QueueView } from '../../shared/schemas/queues.js';
import { requireUser } from '../auth/authMiddleware.js';
import type { NumberPlan } from '../directory/NumberPlan.js';
import type { UserModel } from '../directory/User.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { BodyParsers } from '../http/bodyParsers.js';
import { on, reply } from '../http/typedRoute.js';
import { toQueueView, type CallQueueModel } from './CallQueue.js';
import type { PbxAdapter } from './PbxAdapter.js';
import { isDuplicateKey } from '../db/duplicateKey.js';

export interface QueuesRouterDeps {
  queues: CallQueueModel;
  users: UserModel;
  /** Users and queues share one numbering plan; a queue's number is claimed in it. */
  numbers: NumberPlan;
  /** Undefined without a PBX: queues are kept and pushed once there is one. */
  pbx: PbxAdapter | undefined;
}

/** /api/queues: administrators define call queues; each change reaches the PBX before the answer. */
export function queuesRouter(deps: QueuesRouterDeps, body: Pick<BodyParsers, 'json'>): Router {
  const router = Router();
  router.use(requireUser({ role: 'admin' }));

  async function checkMembers(members: string[]): Promise<void> {
    const found = await deps.users.find({ extension: { $in: members } }, { extension: 1 }).lean();
    const known = new Set(found.map((u) => u.extension));
    const unknown = members.filter((m) => !known.has(m));
    if (unknown.length > 0) {
      throw new ValidationError('Unknown member extensions', [
        { path: 'members', message: `no user has extension ${unknown.join(', ')}` },
      ]);
    }
  }

  async function push(q: QueueView): Promise<void> {
    await deps.pbx?.setQueue(q.number, q.members);
  }

  on(router, routes.list, [], async () => {
    const rows = await deps.queues.find({}).sort({ number: 1 }).lean();
    return reply(200, { queues: rows.map(toQueueView) });
  });

  on(router, routes.create, [body.json], async ({ body: q }) => {
    await checkMembers(q.members);
    await deps.numbers.claim(q.number, 'queue', 'number', async () => {
      try {
        await deps.queues.create({ number: q.number, name: q.name, members: q.members });
      } catch (err) {
        if (isDuplicateKey(err)) throw new ConflictError(`Queue ${q.number} exists already`);
        throw err;
      }
    });
    const view = { number: q.number, name: q.name, members: q.members };
    await push(view);
    return reply(201, view);
  });

  on(router, routes.update, [body.json], async ({ params, body: changes }) => {
    if (changes.members) await checkMembers(changes.members);
    const updated = await deps.queues
      .findOneAndUpdate({ number: params.number }, { $set: changes }, { new: true })
      .lean();
    if (!updated) throw new NotFoundError(`No queue ${params.number}`);
    const view = toQueueView(updated);
    await push(view);
    return reply(200, view);
  });

  on(router, routes.remove, [], async ({ params }) => {
    const gone = await deps.queues.findOneAndDelete({ number: params.number }).lean();
    if (!gone) throw new NotFoundError(`No queue ${params.number}`);
    await deps.pbx?.removeQueue(params.number);
    return reply(204, undefined);
  });

  return router;
}
