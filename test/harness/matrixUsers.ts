import { createHmac } from 'node:crypto';
import type { MatrixEndpoint } from '../../server/chat/matrix/appservice.js';

export interface RegisteredMatrixUser {
  userId: string;
  accessToken: string;
}

/**
 * Registers a plain (non-appservice) Matrix user through Synapse's shared-secret admin API, the way an operator's
 * script would. Tests use it to stand in for colleagues on Element.
 */
export async function registerMatrixUser(
  endpoint: MatrixEndpoint,
  username: string,
  password: string,
): Promise<RegisteredMatrixUser> {
  const secret = endpoint.registrationSharedSecret;
  if (!secret) throw new Error('no registration shared secret for this homeserver');
  const url = `${endpoint.homeserverUrl}/_synapse/admin/v1/register`;
  const { nonce } = (await (await fetch(url)).json()) as { nonce: string };
  const mac = createHmac('sha1', secret).update(`${nonce}\0${username}\0${password}\0notadmin`).digest('hex');
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ nonce, username, password, admin: false, mac }),
  });
  if (!response.ok)
    throw new Error(`registration of ${username} failed: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { user_id: string; access_token: string };
  return { userId: body.user_id, accessToken: body.access_token };
}
