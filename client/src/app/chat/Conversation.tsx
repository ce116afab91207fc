import { useCallback, useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { ChatMessageView, ChatRoomView, ChatTypingView } from '../../../../shared/schemas/chat.js';
import { api, ApiError, apiUpload } from '../api/api.js';
import { GroupInfo } from './GroupInfo.js';
import { MessageBody } from './MessageBody.js';
import { applyEdit, endOf, merge, mergeEdits, PAGE, type Shown } from './messageList.js';
import { useI18n } from '../i18n/i18n.js';
import { playSent } from '../ui/sounds.js';
import { socketRequest, type UserSocket } from '../api/userSocket.js';

const TYPING_REFRESH_MS = 3_000;
const TYPING_IDLE_MS = 4_000;
const TYPING_SHOWN_MS = 6_000;
/** Near enough to the bottom that a new message scrolls the view with it. */
const STICK_PX = 80;

function txnId(): string {
  return `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
}

const DRAFT_KEY = 'ucc.draft.';

function readDraft(roomId: string): string {
  try {
    return sessionStorage.getItem(DRAFT_KEY + roomId) ?? '';
  } catch {
    return '';
  }
}

function writeDraft(roomId: string, text: string): void {
  try {
    if (text) sessionStorage.setItem(DRAFT_KEY + roomId, text);
    else sessionStorage.removeItem(DRAFT_KEY + roomId);
  } catch {
    // Storage disabled: the draft lives as long as the view.
  }
}

/** One conversation: history on scroll-up, live messages, typing, read state, replies, edits and files. */
export function Conversation({
  room,
  myMxid,
  socket,
  myId,
  sendSound,
  onBack,
}: {
  room: ChatRoomView;
  myMxid: string;
  myId: string;
  socket: UserSocket;
  sendSound: boolean;
  onBack: () => void;
}): React.JSX.Element {
  const { t, language } = useI18n();
  const { roomId } = room;
  const [messages, setMessages] = useState<Shown[]>([]);
  const [edits, setEdits] = useState<Map<string, ChatMessageView>>(() => new Map());
  const [next, setNext] = useState<string | null | undefined>();
  const [loading, setLoading] = useState(true);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [text, setText] = useState(() => readDraft(room.roomId));
  const [replyTo, setReplyTo] = useState<Shown | undefined>();
  const [editing, setEditing] = useState<Shown | undefined>();
  const [uploading, setUploading] = useState(false);
  const [showInfo, setShowInfo] = useState(false);
  const [typers, setTypers] = useState<Map<string, { name: string; until: number }>>(new Map());
  const listRef = useRef<HTMLOListElement>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const fileRef = useRef<HTMLInputElement>(null);
  const stick = useRef(true);
  const restore = useRef<number | undefined>(undefined);
  const lastRead = useRef<string | undefined>(undefined);
  const typingState = useRef<{ on: boolean; sentAt: number; idle?: ReturnType<typeof setTimeout> }>({
    on: false,
    sentAt: 0,
  });

  // An unsent message survives switching conversations and reloads (not an edit in progress).
  useEffect(() => {
    if (!editing) writeDraft(roomId, text);
  }, [roomId, text, editing]);

  // --- history ---
  useEffect(() => {
    let live = true;
    setMessages([]);
    setEdits(new Map());
    setNext(undefined);
    setLoading(true);
    setError(undefined);
    stick.current = true;
    lastRead.current = undefined;
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

  const onScroll = (): void => {
    const el = listRef.current;
    if (!el) return;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < STICK_PX;
    if (el.scrollTop < STICK_PX) loadOlder();
  };

  // --- live events ---
  useEffect(() => {
    const onMessage = (m: ChatMessageView): void => {
      if (m.roomId !== roomId) return;
      setMessages((current) => merge(current, [m]));
      setEdits((current) => mergeEdits(current, [m]));
    };
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
    socket.on('chat.message', onMessage);
    socket.on('chat.typing', onTyping);
    return () => {
      socket.off('chat.message', onMessage);
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

  // --- read receipts: the newest message counts as read while this view is on screen ---
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

  // --- typing (over the socket: cheaper than a request per keystroke burst) ---
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

  // --- sending ---
  const deliver = useCallback(
    (local: Shown) => {
      api<{ eventId: string }>('POST', `/api/chat/rooms/${encodeURIComponent(roomId)}/messages`, {
        body: local.body,
        ...(local.replyTo ? { replyTo: local.replyTo } : {}),
        clientTxnId: local.txnId,
      }).then(
        ({ eventId }) => {
          if (sendSound) playSent();
          setMessages((current) => {
            // The socket may have brought the stored message first.
            const echoed = current.some((m) => m.eventId === eventId);
            return current
              .filter((m) => !(echoed && m.txnId === local.txnId))
              .map((m) =>
                m.txnId === local.txnId ? { ...m, eventId, pending: undefined, txnId: undefined } : m,
              );
          });
        },
        () =>
          setMessages((current) =>
            current.map((m) => (m.txnId === local.txnId ? { ...m, pending: 'failed' as const } : m)),
          ),
      );
    },
    [roomId, sendSound],
  );

  const submit = (): void => {
    const body = text.trim();
    if (!body) return;
    sendTyping(false);
    if (editing) {
      const target = editing;
      const before = edits.get(target.eventId);
      const optimistic: ChatMessageView = { ...target, body, ts: Date.now(), edits: target.eventId };
      setEditing(undefined);
      // Back to the draft that was there before the edit began.
      setText(readDraft(roomId));
      setEdits((current) => new Map(current).set(target.eventId, optimistic));
      api(
        'PUT',
        `/api/chat/rooms/${encodeURIComponent(roomId)}/messages/${encodeURIComponent(target.eventId)}`,
        { body },
      ).catch(() => {
        setError(t('editFailed'));
        setEdits((current) => {
          const copy = new Map(current);
          if (before) copy.set(target.eventId, before);
          else copy.delete(target.eventId);
          return copy;
        });
      });
      return;
    }
    const id = txnId();
    const local: Shown = {
      roomId,
      eventId: `local:${id}`,
      txnId: id,
      sender: { mxid: myMxid, displayName: t('you') },
      msgtype: 'm.text',
      body,
      ts: Date.now(),
      pending: 'sending',
      ...(replyTo ? { replyTo: replyTo.eventId } : {}),
    };
    stick.current = true;
    setMessages((current) => [...current, local]);
    setText('');
    setReplyTo(undefined);
    deliver(local);
  };

  const retry = (m: Shown): void => {
    setMessages((current) =>
      current.map((x) => (x.txnId === m.txnId ? { ...x, pending: 'sending' as const } : x)),
    );
    deliver({ ...m, pending: 'sending' });
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    } else if (e.key === 'Escape' && (editing || replyTo)) {
      if (editing) setText(readDraft(roomId));
      setEditing(undefined);
      setReplyTo(undefined);
    }
  };

  const upload = (file: File): void => {
    setUploading(true);
    setError(undefined);
    stick.current = true;
    apiUpload(
      `/api/chat/rooms/${encodeURIComponent(roomId)}/files?name=${encodeURIComponent(file.name)}`,
      file,
    )
      .then(
        () => {
          if (sendSound) playSent();
        },
        (err: unknown) =>
          setError(
            err instanceof ApiError && err.code === 'FILE_TOO_LARGE' ? t('fileTooLarge') : t('uploadFailed'),
          ),
      )
      .finally(() => setUploading(false));
  };

  const shown = messages.map((m) => applyEdit(m, edits.get(m.eventId)));

  // --- read state of our newest message ---
  const others = room.members.filter((m) => m.mxid !== myMxid);
  const mineLast = [...shown].reverse().find((m) => m.sender.mxid === myMxid && !m.pending);
  const readers = mineLast
    ? room.reads.filter((r) => r.mxid !== myMxid && (r.eventId === mineLast.eventId || r.ts >= mineLast.ts))
    : [];
  const readLabel =
    readers.length === 0
      ? t('delivered')
      : room.kind === 'dm'
        ? t('read')
        : readers.length >= others.length
          ? t('readByAll')
          : t('readBy', { n: readers.length });

  const when = (ts: number): string =>
    new Date(ts).toLocaleTimeString(language === 'it' ? 'it-IT' : 'en-GB', {
      hour: '2-digit',
      minute: '2-digit',
    });
  const typingNames = [...typers.values()].map((v) => v.name);

  return (
    <section className="conversation" aria-labelledby="conversation-title" data-room-id={roomId}>
      <header className="conversation-head">
        <button className="link back" onClick={onBack} aria-label={t('backToChats')}>
          ←
        </button>
        <div className="grow">
          <h2 id="conversation-title">{room.name}</h2>
          <p className="muted small">
            {room.kind === 'group'
              ? `${room.topic ? `${room.topic} · ` : ''}${t('membersCount', { n: room.members.length })}`
              : (others[0]?.extension ?? '')}
          </p>
        </div>
        {room.kind === 'group' && (
          <button aria-expanded={showInfo} aria-controls="group-info" onClick={() => setShowInfo(!showInfo)}>
            {showInfo ? t('close') : t('groupInfo')}
          </button>
        )}
      </header>
      {showInfo && (
        <div id="group-info" className="group-info-wrap">
          <GroupInfo room={room} myId={myId} onLeft={onBack} />
        </div>
      )}
      <ol
        className="messages"
        ref={listRef}
        onScroll={onScroll}
        aria-label={t('messages')}
        aria-busy={loading}
      >
        {loadingOlder && (
          <li className="muted center" role="status">
            <span className="spinner" aria-hidden="true" /> {t('loadingOlder')}
          </li>
        )}
        {next === null && !loading && messages.length > 0 && (
          <li className="muted center small">{t('historyStart')}</li>
        )}
        {loading && (
          <li className="muted center" role="status">
            <span className="spinner" aria-hidden="true" /> {t('loading')}
          </li>
        )}
        {!loading && messages.length === 0 && <li className="muted center">{t('noMessages')}</li>}
        {shown.map((m) => {
          const mine = m.sender.mxid === myMxid;
          const quoted = m.replyTo ? shown.find((x) => x.eventId === m.replyTo) : undefined;
          return (
            <li
              key={m.txnId ?? m.eventId}
              className={`message${mine ? ' mine' : ''}${m.pending ? ` ${m.pending}` : ''}`}
              data-event-id={m.eventId}
            >
              {!mine && room.kind === 'group' && <span className="sender">{m.sender.displayName}</span>}
              {m.replyTo && (
                <blockquote className="quote">
                  {quoted ? (
                    <>
                      <strong>{quoted.sender.mxid === myMxid ? t('you') : quoted.sender.displayName}</strong>{' '}
                      {quoted.body}
                    </>
                  ) : (
                    t('replyToOlder')
                  )}
                </blockquote>
              )}
              <MessageBody message={m} roomId={roomId} />
              <span className="meta">
                <time dateTime={new Date(m.ts).toISOString()}>{when(m.ts)}</time>
                {m.edited && <span> · {t('edited')}</span>}
                {m.pending === 'sending' && <span> · {t('sending')}</span>}
                {mine && m.eventId === mineLast?.eventId && (
                  <span className="read-state" data-read={readers.length > 0}>
                    {' '}
                    · {readLabel}
                  </span>
                )}
              </span>
              {m.pending === 'failed' ? (
                <span className="message-actions">
                  <span className="field-error">{t('sendFailed')}</span>
                  <button className="link" onClick={() => retry(m)}>
                    {t('retry')}
                  </button>
                </span>
              ) : (
                !m.pending && (
                  <span className="message-actions">
                    <button
                      className="link"
                      onClick={() => {
                        setEditing(undefined);
                        setReplyTo(m);
                        inputRef.current?.focus();
                      }}
                    >
                      {t('reply')}
                    </button>
                    {mine && m.msgtype === 'm.text' && (
                      <button
                        className="link"
                        onClick={() => {
                          setReplyTo(undefined);
                          setEditing(m);
                          setText(m.body);
                          inputRef.current?.focus();
                        }}
                      >
                        {t('edit')}
                      </button>
                    )}
                  </span>
                )
              )}
            </li>
          );
        })}
      </ol>
      <p className="typing muted small" aria-live="polite">
        {typingNames.length === 1
          ? t('typingOne', { name: typingNames[0] ?? '' })
          : typingNames.length > 1
            ? t('typingMany', { names: typingNames.join(', ') })
            : ''}
      </p>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {(replyTo ?? editing) && (
        <div className="composer-context">
          <span className="grow">
            {editing ? t('editing') : t('replyingTo', { name: replyTo?.sender.displayName ?? '' })}:{' '}
            <span className="muted">{(editing ?? replyTo)?.body}</span>
          </span>
          <button
            className="link"
            onClick={() => {
              if (editing) setText(readDraft(roomId));
              setEditing(undefined);
              setReplyTo(undefined);
            }}
          >
            {t('cancel')}
          </button>
        </div>
      )}
      <form
        className="composer"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <input
          ref={fileRef}
          type="file"
          hidden
          aria-hidden="true"
          tabIndex={-1}
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) upload(file);
            e.target.value = '';
          }}
        />
        <button
          type="button"
          className="icon"
          aria-label={t('attachFile')}
          title={t('attachFile')}
          disabled={uploading || !!editing}
          aria-busy={uploading}
          onClick={() => fileRef.current?.click()}
        >
          {uploading ? <span className="spinner" aria-hidden="true" /> : <PaperclipIcon />}
        </button>
        <label htmlFor="composer-input" className="visually-hidden">
          {t('chatMessage')}
        </label>
        <textarea
          id="composer-input"
          ref={inputRef}
          rows={1}
          maxLength={20_000}
          placeholder={t('chatMessage')}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            sendTyping(e.target.value.length > 0);
          }}
          onKeyDown={onKeyDown}
          onBlur={() => sendTyping(false)}
        />
        <button type="submit" className="primary" disabled={!text.trim()}>
          {editing ? t('save') : t('send')}
        </button>
      </form>
    </section>
  );
}

function PaperclipIcon(): React.JSX.Element {
  return (
    <svg
      viewBox="0 0 24 24"
      width="18"
      height="18"
      aria-hidden="true"
      fill="none"
      stroke="currentColor"
      strokeWidth="2"
    >
      <path
        d="M20 11.5l-8 8a5 5 0 0 1-7-7l8.5-8.5a3.5 3.5 0 0 1 5 5L10 17.5a2 2 0 0 1-3-3l7.5-7.5"
        strokeLinecap="round"
      />
    </svg>
  );
}
