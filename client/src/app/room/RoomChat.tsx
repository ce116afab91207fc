import { useEffect, useState } from 'react';
import type { MeetingChatMessageView } from '../../../../shared/schemas/chat.js';
import type { MeetingConnection } from '../../media/MeetingConnection.js';
import { useI18n } from '../i18n/i18n.js';

/** The in-call chat: the meeting's last 50 messages, live ones, and what was missed while reconnecting. */
export function RoomChat({ connection }: { connection: MeetingConnection }): React.JSX.Element {
  const { t } = useI18n();
  const [messages, setMessages] = useState<MeetingChatMessageView[]>([]);
  const [text, setText] = useState('');
  const [sending, setSending] = useState(false);
  const [failed, setFailed] = useState(false);

  const add = (m: MeetingChatMessageView): void =>
    setMessages((list) => (list.some((x) => x.eventId === m.eventId) ? list : [...list, m]));

  useEffect(() => {
    let cancelled = false;
    const load = (): void => {
      connection
        .request({ type: 'meeting.chat.history', limit: 50 })
        .then(({ items }) => {
          if (!cancelled) for (const m of [...items].reverse()) add(m);
        })
        .catch(() => {
          if (!cancelled) setFailed(true);
        });
    };
    connection.socket.on('meeting.chat.message', add);
    load();
    // What was written while our socket was down went to the meeting without us: catch up once back in.
    const offJoined = connection.on('joined', (_info, { rejoin }) => {
      if (rejoin) load();
    });
    return () => {
      cancelled = true;
      offJoined();
      connection.socket.off('meeting.chat.message', add);
    };
  }, [connection]);

  return (
    <div className="room-chat">
      <ol className="chat-messages" aria-live="polite">
        {[...messages]
          .sort((a, b) => a.ts - b.ts)
          .map((m) => (
            <li key={m.eventId}>
              <strong>{m.sender.displayName}</strong> {m.body}
            </li>
          ))}
      </ol>
      {failed && (
        <p className="form-error" role="alert">
          {t('genericError')}
        </p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const body = text.trim();
          if (!body) return;
          setSending(true);
          setFailed(false);
          connection
            .request({ type: 'meeting.chat.send', body })
            .then(({ eventId }) => {
              setText('');
              add({
                meetingId: '',
                eventId,
                sender: { kind: 'user', displayName: t('you') },
                body,
                ts: Date.now(),
              });
            })
            .catch(() => setFailed(true))
            .finally(() => setSending(false));
        }}
      >
        <input
          aria-label={t('chatMessage')}
          placeholder={t('chatMessage')}
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <button type="submit" disabled={sending || !text.trim()}>
          {t('send')}
        </button>
      </form>
    </div>
  );
}
