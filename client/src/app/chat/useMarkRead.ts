import { useCallback, useEffect, useRef } from 'react';
import { api } from '../api/api.js';
import type { Shown } from './messageList.js';

/** The newest stored message counts as read while the conversation is on screen (and again when it comes back). */
export function useMarkRead(roomId: string, messages: Shown[]): void {
  const lastRead = useRef<string | undefined>(undefined);
  useEffect(() => {
    lastRead.current = undefined;
  }, [roomId]);
  const markRead = useCallback(() => {
    const last = [...messages].reverse().find((m) => !m.pending);
    if (!last || last.eventId === lastRead.current || document.visibilityState !== 'visible') return;
    lastRead.current = last.eventId;
    api('POST', `/api/chat/rooms/${encodeURIComponent(roomId)}/read`, { eventId: last.eventId }).catch(() => {
      lastRead.current = undefined;
    });
  }, [messages, roomId]);
  useEffect(markRead, [markRead]);
  useEffect(() => {
    document.addEventListener('visibilitychange', markRead);
    return () => document.removeEventListener('visibilitychange', markRead);
  }, [markRead]);
}
