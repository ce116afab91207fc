import type { ChatRoomView } from '../../../../shared/schemas/chat.js';
import { useI18n } from '../i18n/i18n.js';
import { MessageBody } from './MessageBody.js';
import type { Shown } from './messageList.js';

/** One message in the list: sender (in groups), the quoted reply, body, time, read state and its actions. */
export function MessageItem({
  m,
  quoted,
  room,
  myMxid,
  readLabel,
  readByOthers,
  onReply,
  onEdit,
  onRetry,
}: {
  m: Shown;
  /** The message it replies to, when that is loaded. */
  quoted: Shown | undefined;
  room: ChatRoomView;
  myMxid: string;
  /** Only on one's own newest message: "Consegnato", "Letto", ... */
  readLabel: string | undefined;
  readByOthers: boolean;
  onReply: () => void;
  onEdit: () => void;
  onRetry: () => void;
}): React.JSX.Element {
  const { t, language } = useI18n();
  const mine = m.sender.mxid === myMxid;
  const when = new Date(m.ts).toLocaleTimeString(language === 'it' ? 'it-IT' : 'en-GB', {
    hour: '2-digit',
    minute: '2-digit',
  });
  return (
    <li
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
      <MessageBody message={m} roomId={room.roomId} />
      <span className="meta">
        <time dateTime={new Date(m.ts).toISOString()}>{when}</time>
        {m.edited && <span> · {t('edited')}</span>}
        {m.pending === 'sending' && <span> · {t('sending')}</span>}
        {readLabel !== undefined && (
          <span className="read-state" data-read={readByOthers}>
            {' '}
            · {readLabel}
          </span>
        )}
      </span>
      {m.pending === 'failed' ? (
        <span className="message-actions">
          <span className="field-error">{t('sendFailed')}</span>
          <button className="link" onClick={onRetry}>
            {t('retry')}
          </button>
        </span>
      ) : (
        !m.pending && (
          <span className="message-actions">
            <button className="link" onClick={onReply}>
              {t('reply')}
            </button>
            {mine && m.msgtype === 'm.text' && (
              <button className="link" onClick={onEdit}>
                {t('edit')}
              </button>
            )}
          </span>
        )
      )}
    </li>
  );
}
