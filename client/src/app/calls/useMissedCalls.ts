import { useCallback, useEffect, useRef, useState } from 'react';
import { useUserSocket, type UserSocket } from '../api/userSocket.js';
import { markCallsSeen, missedCalls } from './callsApi.js';

/**
 * The missed-calls badge: how many calls the user missed since they last looked at "Chiamate recenti" (the
 * server keeps when, per user). It follows `calls.changed` on the user socket (a call recorded, or the list seen
 * on another device) and asks again after a reconnection. `seen()` marks them all seen, here and elsewhere.
 */
export function useMissedCalls(socket?: UserSocket): { missed: number; seen: () => void } {
  const shellSocket = useUserSocket();
  const live = socket ?? shellSocket;
  const [missed, setMissed] = useState(0);
  // Only the newest request's answer counts: a slow count must not bring back a badge just cleared.
  const latest = useRef(0);

  const apply = useCallback((request: Promise<{ missed: number }>) => {
    const id = ++latest.current;
    request.then(
      (view) => {
        if (id === latest.current) setMissed(view.missed);
      },
      // The badge is a hint: on a failure it keeps what it showed, and the next event asks again.
      () => undefined,
    );
  }, []);

  const load = useCallback(() => apply(missedCalls()), [apply]);

  useEffect(() => {
    load();
    if (!live) return;
    live.on('calls.changed', load);
    live.on('connect', load);
    return () => {
      live.off('calls.changed', load);
      live.off('connect', load);
      // An answer arriving after unmount is dropped.
      latest.current += 1;
    };
  }, [live, load]);

  const seen = useCallback(() => {
    latest.current += 1;
    setMissed(0);
    apply(markCallsSeen());
  }, [apply]);

  return { missed, seen };
}
