import { useCallback, useEffect, useRef, useState } from 'react';
import type { ChatMessageView, ChatRoomView } from '../../../../shared/schemas/chat.js';
import { api, ApiError, apiUpload } from '../api/api.js';
import type { UserSocket } from '../api/userSocket.js';
import { useI18n } from '../i18n/i18n.js';
import { useCallAction } from '../phone/callAction.js';
import { playSent } from '../ui/sounds.js';
import { Composer } from './Composer.js';
import { readDraft, txnId, writeDraft } from './drafts.js';
import { GroupInfo } from './GroupInfo.js';
import { MessageItem } from './MessageItem.js';
import { applyEdit, type Shown } from './messageList.js';
import { readLabelOf } from './readState.js';
import { useMarkRead } from './useMarkRead.js';
import { useMessageHistory } from './useMessageHistory.js';
import { useTyping } from './useTyping.js';

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
  const { t } = useI18n();
  const callAction = useCallAction();
  const { roomId } = room;
  const {
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
  } = useMessageHistory(roomId, socket);
  const { typingNames, sendTyping } = useTyping(socket, roomId, myMxid);
  useMarkRead(roomId, messages);
  const [text, setText] = useState(() => readDraft(room.roomId));
  const [replyTo, setReplyTo] = useState<Shown | undefined>();
  const [editing, setEditing] = useState<Shown | undefined>();
  const [uploading, setUploading] = useState(false);
  const [showInfo, setShowInfo] = useState(false);
  const inputRef = useRef<HTMLTextAreaElement>(null);

  // An unsent message survives switching conversations and reloads (not an edit in progress).
  useEffect(() => {
    if (!editing) writeDraft(roomId, text);
  }, [roomId, text, editing]);

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
  const others = room.members.filter((m) => m.mxid !== myMxid);
  const read = readLabelOf(room, shown, myMxid, t);
  // A 1:1 conversation calls the colleague's extension.
  const callee = room.kind === 'group' ? undefined : others[0];
  const calleeNumber = callee?.extension;
  const cancelContext = (): void => {
    if (editing) setText(readDraft(roomId));
    setEditing(undefined);
    setReplyTo(undefined);
  };

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
        {callAction.available && callee && calleeNumber && (
          <button
            className="call-button"
            aria-label={t('callName', { name: callee.displayName })}
            onClick={() => callAction.call({ number: calleeNumber, name: callee.displayName })}
          >
            <span aria-hidden="true">☎</span> {t('callAction')}
          </button>
        )}
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
        {shown.map((m) => (
          <MessageItem
            key={m.txnId ?? m.eventId}
            m={m}
            quoted={m.replyTo ? shown.find((x) => x.eventId === m.replyTo) : undefined}
            room={room}
            myMxid={myMxid}
            readLabel={m.eventId === read.eventId ? read.label : undefined}
            readByOthers={read.byOthers}
            onRetry={() => retry(m)}
            onReply={() => {
              setEditing(undefined);
              setReplyTo(m);
              inputRef.current?.focus();
            }}
            onEdit={() => {
              setReplyTo(undefined);
              setEditing(m);
              setText(m.body);
              inputRef.current?.focus();
            }}
          />
        ))}
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
      <Composer
        text={text}
        onText={(value) => {
          setText(value);
          sendTyping(value.length > 0);
        }}
        replyTo={replyTo}
        editing={editing}
        uploading={uploading}
        inputRef={inputRef}
        onSubmit={submit}
        onCancelContext={cancelContext}
        onFile={upload}
        onBlur={() => sendTyping(false)}
      />
    </section>
  );
}
