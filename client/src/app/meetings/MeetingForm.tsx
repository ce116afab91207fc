import { useState, type FormEvent } from 'react';
import type { MeetingView } from '../../../../shared/schemas/meetings.js';
import { api, ApiError, type PublicUser } from '../api/api.js';
import { useDirectorySearch } from '../api/useDirectorySearch.js';
import { PresenceDot } from '../presence/PresenceDot.js';
import { usePresence } from '../presence/usePresence.js';
import { useI18n } from '../i18n/i18n.js';
import { PeopleChips, StepLabel, TextAreaField, TextField } from '../ui/forms.js';

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

/**
 * The creation form, the manual's numbered fields: 1 Titolo, 2 Inizio, 3 Durata (ore), 4 Descrizione,
 * 5 Seleziona i partecipanti. Given a meeting, the same form edits it (PATCH, with the invitations sent again).
 */
export function MeetingForm({
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
  const presenceOf = usePresence(results.map((u) => u.id));
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
                      <PresenceDot state={presenceOf(u.id)} />
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
