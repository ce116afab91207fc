import { useCallback, useEffect, useRef, useState } from 'react';
import type { ChatTypingView } from '../../../../shared/schemas/chat.js';
import { socketRequest, type UserSocket } from '../api/userSocket.js';

const TYPING_REFRESH_MS = 3_000;
const TYPING_IDLE_MS = 4_000;
const TYPING_SHOWN_MS = 6_000;

/**
 * Typing over the socket (cheaper than a request per keystroke burst): `sendTyping(true)` is refreshed every
 * 3 s while typing and stops by itself after 4 s idle; `typingNames` are the others typing in this room now.
 */
export function useTyping(
  socket: UserSocket,
  roomId: string,
  myMxid: string,
): { typingNames: string[]; sendTyping: (on: boolean) => void } {
  const [typers, setTypers] = useState<Map<string, { name: string; until: number }>>(new Map());
  const typingState = useRef<{ on: boolean; sentAt: number; idle?: ReturnType<typeof setTimeout> }>({
    on: false,
    sentAt: 0,
  });

  useEffect(() => {
    setTypers(new Map());
    const onTyping = (v: ChatTypingView): void => {
      if (v.roomId !== roomId || v.user.mxid === myMxid) return;
      setTypers((current) => {
        const copy = new Map(current);
        if (v.typing)
          copy.set(v.user.mxid, { name: v.user.displayName, until: Date.now() + TYPING_SHOWN_MS });
        else copy.delete(v.user.mxid);
        return copy;
      });
    };
    socket.on('chat.typing', onTyping);
    return () => {
      socket.off('chat.typing', onTyping);
    };
  }, [socket, roomId, myMxid]);

  // A typing notice that never got its "stopped" (the other side closed the tab) fades by itself.
  useEffect(() => {
    if (typers.size === 0) return;
    const timer = setInterval(() => {
      setTypers((current) => {
        const now = Date.now();
        const kept = new Map([...current].filter(([, v]) => v.until > now));
        return kept.size === current.size ? current : kept;
      });
    }, 1_000);
    return () => clearInterval(timer);
  }, [typers.size]);

  const sendTyping = useCallback(
    (on: boolean) => {
      const state = typingState.current;
      if (state.idle) clearTimeout(state.idle);
      if (on) state.idle = setTimeout(() => sendTyping(false), TYPING_IDLE_MS);
      const now = Date.now();
      if (on === state.on && (!on || now - state.sentAt < TYPING_REFRESH_MS)) return;
      state.on = on;
      state.sentAt = now;
      socketRequest(socket, { type: 'chat.typing', roomId, typing: on }).catch(() => undefined);
    },
    [socket, roomId],
  );
  useEffect(() => () => sendTyping(false), [sendTyping]);

  return { typingNames: [...typers.values()].map((v) => v.name), sendTyping };
}
