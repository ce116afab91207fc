import { useState } from 'react';
import type { ChatRoomView } from '../../../../shared/schemas/chat.js';
import { Conversation } from './Conversation.js';
import { useI18n } from '../i18n/i18n.js';
import { NewChat } from './NewChat.js';
import type { ChatRooms } from './useChatRooms.js';
import type { UserSocket } from '../api/userSocket.js';
import { PresenceDot } from '../presence/PresenceDot.js';
import { usePresence } from '../presence/usePresence.js';

/**
 * The Chat tab: the conversation list (unread ones on top, with badges) beside the open conversation. On a phone
 * one pane shows at a time.
 */
export function Chat({
  chat,
  socket,
  myId,
  sendSound,
}: {
  chat: ChatRooms;
  socket: UserSocket;
  myId: string;
  sendSound: boolean;
}): React.JSX.Element {
  const { t, language } = useI18n();
  const [openId, setOpenId] = useState<string | undefined>();
  const [creating, setCreating] = useState(false);
  const [opened, setOpened] = useState<ChatRoomView | undefined>();
  const { rooms, error } = chat;
  // A 1:1 chat shows the other person's presence.
  const peerOf = (r: ChatRoomView): string | undefined =>
    r.kind === 'dm' ? r.members.find((m) => m.userId !== undefined && m.userId !== myId)?.userId : undefined;
  const presenceOf = usePresence(rooms?.map(peerOf) ?? []);
  // The list's copy is the freshest (reads, members); a room just created may not be in it yet.
  const open = rooms?.find((r) => r.roomId === openId) ?? (opened?.roomId === openId ? opened : undefined);
  const myMxid =
    rooms?.flatMap((r) => r.members).find((m) => m.userId === myId)?.mxid ??
    open?.members.find((m) => m.userId === myId)?.mxid;

  const when = (ts: number): string => {
    const d = new Date(ts);
    const locale = language === 'it' ? 'it-IT' : 'en-GB';
    return d.toDateString() === new Date().toDateString()
      ? d.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' })
      : d.toLocaleDateString(locale, { day: 'numeric', month: 'short' });
  };

  return (
    <div className={`chat${open || creating ? ' has-detail' : ''}`}>
      <section className="chat-list" aria-labelledby="chat-title">
        <div className="section-head">
          <h2 id="chat-title">{t('chatRooms')}</h2>
          <button
            className="primary"
            onClick={() => {
              setCreating(true);
              setOpenId(undefined);
            }}
          >
            {t('newChat')}
          </button>
        </div>
        {error && !rooms ? (
          <p role="alert">{t('genericError')}</p>
        ) : !rooms ? (
          <p role="status">
            <span className="spinner" aria-hidden="true" /> {t('loading')}
          </p>
        ) : rooms.length === 0 ? (
          <p className="muted">{t('noChats')}</p>
        ) : (
          <ul className="list rooms" aria-label={t('chatRooms')}>
            {rooms.map((r) => {
              // The open conversation is being read: no badge for it.
              const unread = r.roomId === openId ? 0 : r.unread;
              const peer = peerOf(r);
              return (
                <li key={r.roomId}>
                  <button
                    className={`room-row${r.roomId === openId ? ' selected' : ''}${unread > 0 ? ' unread' : ''}`}
                    aria-current={r.roomId === openId ? 'true' : undefined}
                    data-room-id={r.roomId}
                    onClick={() => {
                      setCreating(false);
                      setOpenId(r.roomId);
                    }}
                  >
                    <span className="room-avatar" aria-hidden="true">
                      {r.kind === 'group' ? '#' : (r.name[0] ?? '?').toUpperCase()}
                    </span>
                    <span className="grow">
                      <span className="room-name">{r.name}</span>
                      {peer && <PresenceDot state={presenceOf(peer)} />}
                      {r.lastMessage && (
                        <span className="muted block ellipsis">
                          {/* In a group, who wrote it (the server keeps the sender's name). */}
                          {r.kind === 'group' ? `${r.lastMessage.sender}: ` : ''}
                          {r.lastMessage.body}
                        </span>
                      )}
                    </span>
                    <span className="room-side">
                      <span className="muted small">{when(r.lastActivityAt)}</span>
                      {unread > 0 && (
                        <span className="badge" aria-label={t('unreadCount', { n: unread })}>
                          {unread}
                        </span>
                      )}
                    </span>
                  </button>
                </li>
              );
            })}
          </ul>
        )}
      </section>
      <div className="chat-detail">
        {creating ? (
          <NewChat
            myId={myId}
            onCancel={() => setCreating(false)}
            onOpened={(room) => {
              setCreating(false);
              setOpened(room);
              setOpenId(room.roomId);
              chat.reload();
            }}
          />
        ) : open && myMxid ? (
          <Conversation
            key={open.roomId}
            room={open}
            myMxid={myMxid}
            myId={myId}
            socket={socket}
            sendSound={sendSound}
            onBack={() => setOpenId(undefined)}
          />
        ) : (
          <p className="muted empty-detail">{t('pickChat')}</p>
        )}
      </div>
    </div>
  );
}
