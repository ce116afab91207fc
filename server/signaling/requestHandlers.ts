import type { RequestResponses } from '../../shared/protocol.js';
import type { ClientRequest, ClientRequestType } from '../../shared/schemas/requests.js';
import type { Auth } from '../auth/authMiddleware.js';
import type { UccSocket } from './sockets.js';

/** One request of the given type, as zod parsed it. */
export type RequestOf<T extends ClientRequestType> = Extract<ClientRequest, { type: T }>;

/** Who asks: the socket and who it was authenticated as. */
export interface RequestContext {
  socket: UccSocket;
  auth: Auth;
}

/** Answers one request type; what it returns is checked against that type's entry in `RequestResponses`. */
export type RequestHandler<T extends ClientRequestType> = (
  request: RequestOf<T>,
  context: RequestContext,
) => Promise<RequestResponses[T]> | RequestResponses[T];

/** Some request types' handlers: each domain's file provides its own share of the map. */
export type RequestHandlers<T extends ClientRequestType> = { [K in T]: RequestHandler<K> };

/** The whole map: a request type without a handler (or a handler of no request type) does not compile. */
export type RequestHandlerMap = RequestHandlers<ClientRequestType>;

/** Runs the handler of the request's type. */
export async function dispatch(
  handlers: RequestHandlerMap,
  request: ClientRequest,
  context: RequestContext,
): Promise<RequestResponses[ClientRequestType]> {
  // TypeScript cannot correlate `handlers[request.type]` with `request` across the union; the map's type
  // (each key's handler takes that key's request) is what makes this call right.
  const handler = handlers[request.type] as RequestHandler<ClientRequestType>;
  return handler(request, context);
}
