import { createHmac } from 'node:crypto';
import type { IceServer } from '../../shared/protocol.js';
import type { TurnSettings } from '../stack/EmbeddedStack.js';

/**
 * Short-lived TURN credentials in the TURN REST API scheme that coturn's use-auth-secret checks: the username
 * is `<expiry unix seconds>:<who>`, the password the base64 HMAC-SHA1 of the username under the shared secret.
 * Nothing is stored; the TURN server recomputes it.
 */
export function turnIceServers(turn: TurnSettings | undefined, who: string, nowMs: number): IceServer[] {
  if (!turn || turn.urls.length === 0) return [];
  const expiry = Math.floor((nowMs + turn.credentialTtlMs) / 1000);
  const username = `${expiry}:${who}`;
  const credential = createHmac('sha1', turn.secret).update(username).digest('base64');
  return [{ urls: turn.urls, username, credential }];
}
