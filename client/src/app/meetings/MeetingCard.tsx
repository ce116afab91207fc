import { useState } from 'react';
import type { MeetingState, MeetingView } from '../../../../shared/schemas/meetings.js';
import { api, apiBlob } from '../api/api.js';
import { useI18n, type MessageKey } from '../i18n/i18n.js';
import { DialIn } from './DialIn.js';
import { MeetingForm } from './MeetingForm.js';

const STATE_KEY: Record<MeetingState, MessageKey> = {
  waiting: 'stateWaiting',
  live: 'stateLive',
  expired: 'stateExpired',
  ended: 'stateEnded',
  cancelled: 'stateCancelled',
};

/**
 * One meeting in the agenda: title and details first, then (upcoming ones) the actions in a row that wraps:
 * start, the organizer's link, share, calendar, edit (the form opens in the card) and cancel.
 */
export function MeetingCard({
  meeting: m,
  upcoming,
  editing,
  onEditing,
  onStart,
  onChanged,
}: {
  meeting: MeetingView;
  upcoming: boolean;
  /** Its edit form is open: one card at a time, so the agenda holds which. */
  editing: boolean;
  onEditing: (open: boolean) => void;
  onStart: (meeting: MeetingView) => void;
  /** Saved or cancelled: the agenda loads again. */
  onChanged: () => void;
}): React.JSX.Element {
  const { t, language } = useI18n();
  const [cancelling, setCancelling] = useState(false);
  const [copied, setCopied] = useState(false);
  const [failed, setFailed] = useState(false);
  const organizer = m.myRole === 'organizer';

  const copy = (): void => {
    navigator.clipboard
      .writeText(m.guestUrl)
      .catch(() => undefined)
      .finally(() => setCopied(true));
  };
  const share = (): void => {
    // The system's share sheet where there is one (phones, Windows, ChromeOS); elsewhere an email to write.
    if (typeof navigator.share === 'function') {
      // A cancelled share is no error.
      navigator.share({ title: m.title, text: m.title, url: m.guestUrl }).catch(() => undefined);
      return;
    }
    const body = `${t('shareBody', { title: m.title })}\n${m.guestUrl}`;
    location.href = `mailto:?subject=${encodeURIComponent(m.title)}&body=${encodeURIComponent(body)}`;
  };
  const addToCalendar = (): void => {
    setFailed(false);
    apiBlob(`/api/meetings/${m.id}/invite.ics`).then(
      (blob) => {
        const a = document.createElement('a');
        a.href = URL.createObjectURL(new Blob([blob], { type: 'text/calendar' }));
        a.download = `${m.title.replace(/[^\p{L}\p{N} _-]+/gu, '').trim() || 'meeting'}.ics`;
        a.click();
        setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      },
      () => setFailed(true),
    );
  };
  const cancel = (): void => {
    if (!window.confirm(t('cancelMeetingConfirm', { title: m.title }))) return;
    setCancelling(true);
    api('DELETE', `/api/meetings/${m.id}`)
      .then(onChanged, () => setFailed(true))
      .finally(() => setCancelling(false));
  };
  const when = new Date(m.startAt).toLocaleString(language === 'it' ? 'it-IT' : 'en-GB', {
    dateStyle: 'medium',
    timeStyle: 'short',
  });

  return (
    <li className="meeting card" data-meeting-id={m.id}>
      <div className="grow">
        <h3>{m.title}</h3>
        <p className="muted">
          {when} · {Math.round((m.durationMinutes / 60) * 100) / 100} h · {t('organizer')}:{' '}
          {m.organizer.displayName}
        </p>
        <p>
          <span className="pill">{t(STATE_KEY[m.state])}</span>{' '}
          <span className="invited">{t('invitedCount', { n: m.invitedCount })}</span>
        </p>
        {upcoming && m.dialIn && <DialIn dialIn={m.dialIn} />}
        {organizer && (
          <label className="guest-link">
            <span>{t('guestLink')}</span>
            <input readOnly value={m.guestUrl} onFocus={(e) => e.target.select()} />
          </label>
        )}
      </div>
      {upcoming && (
        <div className="actions">
          <button className="primary" onClick={() => onStart(m)}>
            {t('startMeeting')}
          </button>
          {organizer && (
            <button onClick={copy} aria-live="polite">
              {copied ? t('linkCopied') : t('copyLink')}
            </button>
          )}
          {organizer && <button onClick={share}>{t('share')}</button>}
          <button onClick={addToCalendar}>{t('addToCalendar')}</button>
          {organizer && (
            <>
              <button onClick={() => onEditing(!editing)}>{t('edit')}</button>
              <button className="danger" disabled={cancelling} aria-busy={cancelling} onClick={cancel}>
                {t('cancelMeeting')}
              </button>
            </>
          )}
          {failed && (
            <p className="field-error" role="alert">
              {t('genericError')}
            </p>
          )}
        </div>
      )}
      {editing && (
        <MeetingForm
          meeting={m}
          onCancel={() => onEditing(false)}
          onCreated={() => {
            onEditing(false);
            onChanged();
          }}
        />
      )}
    </li>
  );
}
