import assert from 'node:assert/strict';
import type { ClientRequestType } from '../../shared/schemas/requests.js';
import {
  dispatch,
  type RequestContext,
  type RequestHandlerMap,
  type RequestHandlers,
} from '../../server/signaling/requestHandlers.js';

// Compile-time checks (tsc runs over the tests): each handler's answer is its own type's, and the map is total.
// @ts-expect-error `meeting.end` answers `{ ended: true }`, not another request's answer
const wrongAnswer: RequestHandlers<'meeting.end'> = { 'meeting.end': () => ({ removed: true }) };
// @ts-expect-error a map without a handler for every request type does not compile
const incomplete: RequestHandlerMap = { 'meeting.end': () => ({ ended: true as const }) };
void wrongAnswer;
void incomplete;

describe('the request handler map', () => {
  it('runs the handler of the request’s own type, with the request and its context', async () => {
    const calls: string[] = [];
    // Every type answers by recording itself; only the two asked for below may run.
    const handlers = new Proxy({} as RequestHandlerMap, {
      get: (_target, type: ClientRequestType) => (request: { type: string }) => {
        calls.push(`${type}:${request.type}`);
        return { raised: true };
      },
    });
    const context = { socket: {}, auth: {} } as unknown as RequestContext;
    assert.deepEqual(await dispatch(handlers, { type: 'meeting.raiseHand', raised: true }, context), {
      raised: true,
    });
    await dispatch(handlers, { type: 'meeting.end' }, context);
    assert.deepEqual(calls, ['meeting.raiseHand:meeting.raiseHand', 'meeting.end:meeting.end']);
  });

  it('turns a handler’s synchronous throw into a rejection, so the ack still answers', async () => {
    const handlers = new Proxy({} as RequestHandlerMap, {
      get: () => () => {
        throw new Error('refused');
      },
    });
    await assert.rejects(
      dispatch(handlers, { type: 'meeting.leave' }, {} as unknown as RequestContext),
      /refused/,
    );
  });
});
