import { useCallback, useEffect, useState } from 'react';
import type { MeetingView } from '../../../../shared/schemas/meetings.js';
import { api, type Profile } from '../api/api.js';
import type { UserSocket } from '../api/userSocket.js';
import { useI18n } from '../i18n/i18n.js';
import { MeetingCard } from './MeetingCard.js';
import { MeetingForm } from './MeetingForm.js';

/** The Meeting tab: the agenda (upcoming and past) and, for PRO users, the creation form. */
export function Meetings({
  profile,
  socket,
  onStart,
}: {
  profile: Profile;
  socket: UserSocket;
  onStart: (meeting: MeetingView) => void;
}): React.JSX.Element {
  const { t } = useI18n();
  const [scope, setScope] = useState<'upcoming' | 'past'>('upcoming');
  const [items, setItems] = useState<MeetingView[] | undefined>();
  const [error, setError] = useState(false);
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<string | undefined>();
  const isPro = profile.plan === 'pro';

  const load = useCallback(() => {
    setError(false);
    api<{ items: MeetingView[] }>('GET', `/api/meetings?scope=${scope}`).then(
      (r) => setItems(r.items),
      () => setError(true),
    );
  }, [scope]);
  useEffect(load, [load]);
  // An invitation, a change or a cancellation by the organizer shows up without a reload.
  useEffect(() => {
    socket.on('meeting.invited', load);
    socket.on('meeting.updated', load);
    socket.on('meeting.cancelled', load);
    return () => {
      socket.off('meeting.invited', load);
      socket.off('meeting.updated', load);
      socket.off('meeting.cancelled', load);
    };
  }, [socket, load]);

  return (
    <div className="meetings">
      <section aria-labelledby="agenda-title" className="agenda">
        <div className="section-head">
          <h2 id="agenda-title">{t('agenda')}</h2>
          {isPro ? (
            !creating && (
              <button className="primary" onClick={() => setCreating(true)}>
                {t('newMeeting')}
              </button>
            )
          ) : (
            <p className="notice" data-testid="pro-only">
              {t('proOnly')}
            </p>
          )}
        </div>
        {creating && (
          <MeetingForm
            onCancel={() => setCreating(false)}
            onCreated={() => {
              setCreating(false);
              if (scope === 'upcoming') load();
              else setScope('upcoming');
            }}
          />
        )}
        <div className="segmented" role="group" aria-label={t('agenda')}>
          {(['upcoming', 'past'] as const).map((s) => (
            <button key={s} aria-pressed={scope === s} onClick={() => setScope(s)}>
              {s === 'upcoming' ? t('upcoming') : t('past')}
            </button>
          ))}
        </div>
        {error ? (
          <p role="alert">{t('genericError')}</p>
        ) : !items ? (
          <p role="status">{t('loading')}</p>
        ) : items.length === 0 ? (
          <p className="muted">{t('noMeetings')}</p>
        ) : (
          <ul className="list" aria-label={t('agenda')}>
            {items.map((m) => (
              <MeetingCard
                key={m.id}
                meeting={m}
                upcoming={scope === 'upcoming'}
                editing={editing === m.id}
                onEditing={(open) => setEditing(open ? m.id : undefined)}
                onStart={onStart}
                onChanged={load}
              />
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
