import type { MatrixEndpoint } from './appservice.js';

/**
 * Readiness of the homeserver as the bridge sees it: the client API answers, and our application-service token
 * is accepted (which proves Synapse loaded our registration).
 */
export async function checkHomeserver(endpoint: MatrixEndpoint, timeoutMs: number): Promise<void> {
  const versions = await fetch(`${endpoint.homeserverUrl}/_matrix/client/versions`, {
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!versions.ok) throw new Error(`client API answered ${versions.status}`);
  const whoami = await fetch(`${endpoint.homeserverUrl}/_matrix/client/v3/account/whoami`, {
    headers: { Authorization: `Bearer ${endpoint.asToken}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!whoami.ok) throw new Error(`application service token refused (${whoami.status})`);
}
