import type { ErrorBody } from './errors.js';

/** Every socket request is answered through an ack of this shape. */
export type Ack<T> = { ok: true; data: T } | { ok: false; error: ErrorBody };

export type AckCallback<T> = (response: Ack<T>) => void;

export interface ServerInfo {
  name: string;
  version: string;
  serverTime: string;
}

/** Events the browser sends. Each payload is checked at runtime with the schema of the same name. */
export interface ClientToServerEvents {
  hello: (payload: unknown, ack: AckCallback<ServerInfo>) => void;
}

/** Events the server pushes. */
export interface ServerToClientEvents {
  'server.shutdown': (payload: { reason: string }) => void;
}

export interface InterServerEvents {
  ping: () => void;
}
