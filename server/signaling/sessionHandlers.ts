import type { RequestHandlers } from './requestHandlers.js';
import type { SessionWatch } from './SessionWatch.js';

export interface SessionHandlerDeps {
  version: string;
  sessions: SessionWatch;
}

/** The connection itself: who the server is, and a fresh token for a live socket. */
export function sessionHandlers(deps: SessionHandlerDeps): RequestHandlers<'hello' | 'auth.refresh'> {
  return {
    hello: () => ({ name: 'OpiVoice UCC', version: deps.version, serverTime: new Date().toISOString() }),
    'auth.refresh': (request, { socket }) => deps.sessions.renew(socket, request.token),
  };
}
