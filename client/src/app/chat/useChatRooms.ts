import { useCallback, useEffect, useRef, useState } from 'react';
import type { ChatMessageView, ChatReadView, ChatRoomView } from '../../../../shared/schemas/chat.js';
import { api } from '../api/api.js';
import { withMessage, withRead } from './chatList.js';
import type { UserSocket } from '../api/userSocket.js';

export interface ChatRooms {
  rooms: ChatRoomView[] | undefined;
  error: boolean;
  totalUnread: number;
  reload: () => void;
}

const RELOAD_DEBOUNCE_MS = 150;

/**
 * The user's conversation list, kept current from the user socket. Messages and read receipts update it in
 * place (chatList.ts), so a message costs no request per member; a room change, a room not in the list yet or a
 * reconnection fetches it again, debounced so a burst costs one call. `onMessage` hears every message of every
 * room (for the background sound).
 */
export function useChatRooms(
  socket: UserSocket,
  myId: string,
  onMessage: (message: ChatMessageView) => void,
): ChatRooms {
  const [rooms, setRooms] = useState<ChatRoomView[] | undefined>();
  const [error, setError] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const listener = useRef(onMessage);
  listener.current = onMessage;

  const load = useCallback(() => {
    api<{ items: ChatRoomView[] }>('GET', '/api/chat/rooms').then(
      (r) => {
        setRooms(r.items);
        setError(false);
      },
      () => setError(true),
    );
  }, []);

  const reload = useCallback(() => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(load, RELOAD_DEBOUNCE_MS);
  }, [load]);

  useEffect(() => {
    load();
    const onMessageEvent = (m: ChatMessageView): void => {
      listener.current(m);
      setRooms((current) => {
        const next = current && withMessage(current, m, myId);
        if (!next) reload();
        return next ?? current;
      });
    };
    const onRead = (read: ChatReadView): void => {
      setRooms((current) => current && withRead(current, read, myId));
    };
    socket.on('chat.message', onMessageEvent);
    socket.on('chat.room', reload);
    socket.on('chat.read', onRead);
    // After a dropped connection, events may have been missed.
    socket.io.on('reconnect', load);
    return () => {
      socket.off('chat.message', onMessageEvent);
      socket.off('chat.room', reload);
      socket.off('chat.read', onRead);
      socket.io.off('reconnect', load);
      if (timer.current) clearTimeout(timer.current);
    };
  }, [socket, myId, load, reload]);

  const totalUnread = rooms?.reduce((sum, r) => sum + r.unread, 0) ?? 0;
  return { rooms, error, totalUnread, reload };
}
