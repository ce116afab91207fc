import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { MeetingState, MeetingView } from '../../../../shared/schemas/meetings.js';
import { api, apiBlob, ApiError, type Profile, type PublicUser } from '../api/api.js';
import { PeopleChips, StepLabel, TextAreaField, TextField } from '../ui/forms.js';
import { useI18n, type MessageKey } from '../i18n/i18n.js';
import { useDirectorySearch } from '../api/useDirectorySearch.js';
import type { UserSocket } from '../api/userSocket.js';

const STATE_KEY: Record<MeetingState, MessageKey> = {
  waiting: 'stateWaiting',
  live: 'stateLive',
  expired: 'stateExpired',
  ended: 'stateEnded',
  cancelled: 'stateCancelled',
};

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
  const { t, language } = useI18n();
  const [scope, setScope] = useState<'upcoming' | 'past'>('upcoming');
  const [items, setItems] = useState<MeetingView[] | undefined>();
  const [error, setError] = useState(false);
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<string | undefined>();
  const [cancelling, setCancelling] = useState<string | undefined>();
  const [copied, setCopied] = useState<string | undefined>();
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

  const copy = (m: MeetingView): void => {
    navigator.clipboard
      .writeText(m.guestUrl)
      .catch(() => undefined)
      .finally(() => setCopied(m.id));
  };
  const share = (m: MeetingView): void => {
    // The system's share sheet where there is one (phones, Windows, ChromeOS); elsewhere an email to write.
    if (typeof navigator.share === 'function') {
      // A cancelled share is no error.
      navigator.share({ title: m.title, text: m.title, url: m.guestUrl }).catch(() => undefined);
      return;
    }
    const body = `${t('shareBody', { title: m.title })}\n${m.guestUrl}`;
    location.href = `mailto:?subject=${encodeURIComponent(m.title)}&body=${encodeURIComponent(body)}`;
  };
  const [calendarError, setCalendarError] = useState<string | undefined>();
  const addToCalendar = (m: MeetingView): void => {
    setCalendarError(undefined);
    apiBlob(`/api/meetings/${m.id}/invite.ics`).then(
      (blob) => {
        const a = document.createElement('a');
        a.href = URL.createObjectURL(new Blob([blob], { type: 'text/calendar' }));
        a.download = `${m.title.replace(/[^\p{L}\p{N} _-]+/gu, '').trim() || 'meeting'}.ics`;
        a.click();
        setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      },
      () => setCalendarError(m.id),
    );
  };
  const cancel = (m: MeetingView): void => {
    if (!window.confirm(t('cancelMeetingConfirm', { title: m.title }))) return;
    setCancelling(m.id);
    api('DELETE', `/api/meetings/${m.id}`)
      .then(load, () => setCalendarError(m.id))
      .finally(() => setCancelling(undefined));
  };
  const when = (iso: string): string =>
    new Date(iso).toLocaleString(language === 'it' ? 'it-IT' : 'en-GB', {
      dateStyle: 'medium',
      timeStyle: 'short',
    });

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
          <CreateMeeting
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
              <li key={m.id} className="meeting card" data-meeting-id={m.id}>
                <div className="grow">
                  <h3>{m.title}</h3>
                  <p className="muted">
                    {when(m.startAt)} · {Math.round((m.durationMinutes / 60) * 100) / 100} h ·{' '}
                    {t('organizer')}: {m.organizer.displayName}
                  </p>
                  <p>
                    <span className="pill">{t(STATE_KEY[m.state])}</span>{' '}
                    <span className="invited">{t('invitedCount', { n: m.invitedCount })}</span>
                  </p>
                  {m.myRole === 'organizer' && (
                    <label className="guest-link">
                      <span>{t('guestLink')}</span>
                      <input readOnly value={m.guestUrl} onFocus={(e) => e.target.select()} />
                    </label>
                  )}
                </div>
                {scope === 'upcoming' && (
                  <div className="actions">
                    <button className="primary" onClick={() => onStart(m)}>
                      {t('startMeeting')}
                    </button>
                    {m.myRole === 'organizer' && (
                      <button onClick={() => copy(m)} aria-live="polite">
                        {copied === m.id ? t('linkCopied') : t('copyLink')}
                      </button>
                    )}
                    {m.myRole === 'organizer' && <button onClick={() => share(m)}>{t('share')}</button>}
                    <button onClick={() => addToCalendar(m)}>{t('addToCalendar')}</button>
                    {m.myRole === 'organizer' && (
                      <>
                        <button onClick={() => setEditing(editing === m.id ? undefined : m.id)}>
                          {t('edit')}
                        </button>
                        <button
                          className="danger"
                          disabled={cancelling === m.id}
                          aria-busy={cancelling === m.id}
                          onClick={() => cancel(m)}
                        >
                          {t('cancelMeeting')}
                        </button>
                      </>
                    )}
                    {calendarError === m.id && (
                      <p className="field-error" role="alert">
                        {t('genericError')}
                      </p>
                    )}
                  </div>
                )}
                {editing === m.id && (
                  <CreateMeeting
                    meeting={m}
                    onCancel={() => setEditing(undefined)}
                    onCreated={() => {
                      setEditing(undefined);
                      load();
                    }}
                  />
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

/** Only what the form changed: an untouched start in the past is not sent back as a new start. */
function changes(
  m: MeetingView,
  body: {
    title: string;
    description: string;
    startAt: string;
    durationMinutes: number;
    inviteeIds: string[];
  },
): Partial<typeof body> {
  const out: Partial<typeof body> = {};
  if (body.title !== m.title) out.title = body.title;
  if (body.description !== m.description) out.description = body.description;
  if (new Date(body.startAt).getTime() !== new Date(toLocalInput(new Date(m.startAt))).getTime())
    out.startAt = body.startAt;
  if (body.durationMinutes !== m.durationMinutes) out.durationMinutes = body.durationMinutes;
  const before = m.invitees.map((p) => p.id).sort();
  const after = [...body.inviteeIds].sort();
  if (before.join() !== after.join()) out.inviteeIds = body.inviteeIds;
  // Nothing changed: the title alone is a harmless update (the API wants at least one field).
  return Object.keys(out).length > 0 ? out : { title: body.title };
}

type Person = Pick<PublicUser, 'id' | 'extension' | 'displayName'>;

function localNow(): string {
  const d = new Date(Date.now() + 5 * 60_000);
  d.setSeconds(0, 0);
  return toLocalInput(d);
}

/** A date as a datetime-local input wants it: local time, to the minute. */
function toLocalInput(d: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

type Field = 'title' | 'startAt' | 'duration' | 'description' | 'inviteeIds';

/** The manual's numbered fields: 1 Titolo, 2 Inizio, 3 Durata (ore), 4 Descrizione, 5 Seleziona i partecipanti. */
/** The creation form; given a meeting, the same form edits it (PATCH, with the invitations sent again). */
function CreateMeeting({
  meeting,
  onCancel,
  onCreated,
}: {
  meeting?: MeetingView;
  onCancel: () => void;
  onCreated: (m: MeetingView) => void;
}): React.JSX.Element {
  const { t } = useI18n();
  const [title, setTitle] = useState(meeting?.title ?? '');
  const [start, setStart] = useState(() => (meeting ? toLocalInput(new Date(meeting.startAt)) : localNow()));
  const [hours, setHours] = useState(
    meeting ? String(Math.round((meeting.durationMinutes / 60) * 100) / 100) : '1',
  );
  const [description, setDescription] = useState(meeting?.description ?? '');
  const [query, setQuery] = useState('');
  const { results } = useDirectorySearch(query);
  const [picked, setPicked] = useState<Person[]>(meeting?.invitees ?? []);
  const [errors, setErrors] = useState<Partial<Record<Field | 'form', string>>>({});
  const [pending, setPending] = useState(false);

  async function submit(event: FormEvent): Promise<void> {
    event.preventDefault();
    const next: typeof errors = {};
    const h = Number(hours.replace(',', '.'));
    if (!title.trim()) next.title = t('required');
    if (!start || Number.isNaN(new Date(start).getTime())) next.startAt = t('required');
    if (!Number.isFinite(h) || h < 0.25 || h > 24) next.duration = t('durationInvalid');
    setErrors(next);
    if (Object.keys(next).length > 0) return;
    setPending(true);
    try {
      const body = {
        title: title.trim(),
        description,
        startAt: new Date(start).toISOString(),
        durationMinutes: Math.round(h * 60),
        inviteeIds: picked.map((p) => p.id),
      };
      const created = meeting
        ? await api<MeetingView>('PATCH', `/api/meetings/${meeting.id}`, changes(meeting, body))
        : await api<MeetingView>('POST', '/api/meetings', body);
      onCreated(created);
    } catch (err) {
      const out: typeof errors = {};
      if (err instanceof ApiError && err.code === 'VALIDATION_FAILED') {
        for (const d of err.details) {
          const key = d.path === 'durationMinutes' ? 'duration' : d.path.split('.')[0];
          if (key === 'title' || key === 'startAt' || key === 'duration' || key === 'description')
            out[key] = d.message;
          else if (key === 'inviteeIds') out.inviteeIds = d.message;
        }
      }
      setErrors(Object.keys(out).length > 0 ? out : { form: t('genericError') });
    } finally {
      setPending(false);
    }
  }

  return (
    <form className="card create" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="create-title">
      <h3 id="create-title">{meeting ? t('editMeeting') : t('createTitle')}</h3>
      <ol className="numbered">
        <li>
          <TextField
            id="m-title"
            label={<StepLabel n={1}>{t('title')}</StepLabel>}
            maxLength={200}
            value={title}
            error={errors.title}
            onValue={setTitle}
          />
        </li>
        <li>
          <TextField
            id="m-start"
            label={<StepLabel n={2}>{t('start')}</StepLabel>}
            type="datetime-local"
            value={start}
            error={errors.startAt}
            onValue={setStart}
          />
        </li>
        <li>
          <TextField
            id="m-duration"
            label={<StepLabel n={3}>{t('durationHours')}</StepLabel>}
            type="number"
            min="0.25"
            max="24"
            step="0.25"
            value={hours}
            error={errors.duration}
            onValue={setHours}
          />
        </li>
        <li>
          <TextAreaField
            id="m-description"
            label={<StepLabel n={4}>{t('description')}</StepLabel>}
            rows={3}
            maxLength={5000}
            value={description}
            error={errors.description}
            onValue={setDescription}
          />
        </li>
        <li className="field">
          <label htmlFor="m-participants">
            <StepLabel n={5}>{t('selectParticipants')}</StepLabel>
          </label>
          <input
            id="m-participants"
            type="search"
            placeholder={t('searchColleagues')}
            value={query}
            autoComplete="off"
            onChange={(e) => setQuery(e.target.value)}
            aria-invalid={errors.inviteeIds ? true : undefined}
            aria-describedby={errors.inviteeIds ? 'm-participants-error' : undefined}
          />
          {errors.inviteeIds && (
            <p className="field-error" id="m-participants-error" role="alert">
              {errors.inviteeIds}
            </p>
          )}
          {query.trim() && (
            <ul className="results" aria-label={t('selectParticipants')}>
              {results.length === 0 ? (
                <li className="muted">{t('noResults')}</li>
              ) : (
                results.map((u) => (
                  <li key={u.id}>
                    <button
                      type="button"
                      className="result"
                      disabled={picked.some((p) => p.id === u.id)}
                      onClick={() => {
                        setPicked([...picked, u]);
                        setQuery('');
                      }}
                    >
                      {u.displayName} <span className="muted">({u.extension})</span>
                    </button>
                  </li>
                ))
              )}
            </ul>
          )}
          <PeopleChips
            people={picked}
            label={t('invitedCount', { n: picked.length })}
            onRemove={(u) => setPicked(picked.filter((p) => p.id !== u.id))}
          />
        </li>
      </ol>
      {errors.form && (
        <p className="form-error" role="alert">
          {errors.form}
        </p>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={pending} aria-busy={pending}>
          {pending && <span className="spinner" aria-hidden="true" />}
          {meeting ? t('saveChanges') : t('create')}
        </button>
        <button type="button" onClick={onCancel} disabled={pending}>
          {t('cancel')}
        </button>
      </div>
    </form>
  );
}
