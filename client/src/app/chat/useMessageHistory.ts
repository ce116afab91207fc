import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { ChatMessageView } from '../../../../shared/schemas/chat.js';
import { api } from '../api/api.js';
import { useI18n } from '../i18n/i18n.js';
import type { UserSocket } from '../api/userSocket.js';
import { endOf, merge, mergeEdits, PAGE, type Shown } from './messageList.js';

/** Near enough to the bottom that a new message scrolls the view with it. */
const STICK_PX = 80;

/**
 * A conversation's messages: the newest page, older ones as the list is scrolled up (keeping the reader's
 * place), live ones from the socket. Originals and edits are held apart and merged for display by the caller.
 */
export function useMessageHistory(
  roomId: string,
  socket: UserSocket,
): {
  messages: Shown[];
  setMessages: React.Dispatch<React.SetStateAction<Shown[]>>;
  edits: Map<string, ChatMessageView>;
  setEdits: React.Dispatch<React.SetStateAction<Map<string, ChatMessageView>>>;
  next: string | null | undefined;
  loading: boolean;
  loadingOlder: boolean;
  error: string | undefined;
  setError: (error: string | undefined) => void;
  listRef: React.RefObject<HTMLOListElement | null>;
  /** Set before adding one's own message: the view follows it to the bottom. */
  stick: React.RefObject<boolean>;
  onScroll: () => void;
} {
  const { t } = useI18n();
  const [messages, setMessages] = useState<Shown[]>([]);
  const [edits, setEdits] = useState<Map<string, ChatMessageView>>(() => new Map());
  const [next, setNext] = useState<string | null | undefined>();
  const [loading, setLoading] = useState(true);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const listRef = useRef<HTMLOListElement>(null);
  const stick = useRef(true);
  const restore = useRef<number | undefined>(undefined);

  useEffect(() => {
    let live = true;
    setMessages([]);
    setEdits(new Map());
    setNext(undefined);
    setLoading(true);
    setError(undefined);
    stick.current = true;
    api<{ items: ChatMessageView[]; next?: string }>(
      'GET',
      `/api/chat/rooms/${encodeURIComponent(roomId)}/messages?limit=${PAGE}`,
    ).then(
      (page) => {
        if (!live) return;
        setMessages((current) => merge(current, page.items));
        setEdits((current) => mergeEdits(current, page.items));
        setNext(endOf(page));
        setLoading(false);
      },
      () => {
        if (!live) return;
        setError(t('genericError'));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [roomId, t]);

  const loadOlder = useCallback(() => {
    if (!next || loadingOlder) return;
    setLoadingOlder(true);
    const el = listRef.current;
    api<{ items: ChatMessageView[]; next?: string }>(
      'GET',
      `/api/chat/rooms/${encodeURIComponent(roomId)}/messages?limit=${PAGE}&from=${encodeURIComponent(next)}`,
    )
      .then(
        (page) => {
          // Keep the message under the reader's eyes where it was once older ones are added above.
          restore.current = el ? el.scrollHeight - el.scrollTop : undefined;
          setMessages((current) => merge(current, page.items));
          setEdits((current) => mergeEdits(current, page.items));
          setNext(endOf(page));
        },
        () => setError(t('genericError')),
      )
      .finally(() => setLoadingOlder(false));
  }, [next, loadingOlder, roomId, t]);

  useLayoutEffect(() => {
    const el = listRef.current;
    if (!el) return;
    if (restore.current !== undefined) {
      el.scrollTop = el.scrollHeight - restore.current;
      restore.current = undefined;
    } else if (stick.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [messages]);

  // A short first page may not fill the view: fetch more until it scrolls or history ends.
  useEffect(() => {
    const el = listRef.current;
    if (el && !loading && next && el.scrollHeight <= el.clientHeight) loadOlder();
  }, [loading, next, messages, loadOlder]);

  const onScroll = useCallback((): void => {
    const el = listRef.current;
    if (!el) return;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < STICK_PX;
    if (el.scrollTop < STICK_PX) loadOlder();
  }, [loadOlder]);

  useEffect(() => {
    const onMessage = (m: ChatMessageView): void => {
      if (m.roomId !== roomId) return;
      setMessages((current) => merge(current, [m]));
      setEdits((current) => mergeEdits(current, [m]));
    };
    socket.on('chat.message', onMessage);
    return () => {
      socket.off('chat.message', onMessage);
    };
  }, [socket, roomId]);

  return {
    messages,
    setMessages,
    edits,
    setEdits,
    next,
    loading,
    loadingOlder,
    error,
    setError,
    listRef,
    stick,
    onScroll,
  };
}
