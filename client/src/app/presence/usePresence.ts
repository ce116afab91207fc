import { useEffect, useSyncExternalStore } from 'react';
import type { PresenceState } from '../../../../shared/schemas/presence.js';
import type { UserSocket } from '../api/userSocket.js';
import { presenceStore } from './presenceStore.js';

/** Feeds the page's presence store from the user socket, while mounted (Shell). */
export function usePresenceFeed(socket: UserSocket): void {
  useEffect(() => presenceStore.attach(socket), [socket]);
}

/** The presence of these users (undefined until known), kept live. */
export function usePresence(
  userIds: readonly (string | undefined)[],
): (userId: string) => PresenceState | undefined {
  useSyncExternalStore(presenceStore.subscribe, presenceStore.version);
  const key = userIds.filter((id): id is string => id !== undefined).join(',');
  useEffect(() => {
    if (key !== '') presenceStore.want(key.split(','));
  }, [key]);
  return (userId) => presenceStore.get(userId);
}
