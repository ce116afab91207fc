import { useEffect, useState, type FormEvent } from 'react';
import type { GuestMeetingView } from '../../../../shared/schemas/meetings.js';
import { ApiError, publicApi } from '../api/api.js';
import { DevicePreview } from '../settings/DevicePreview.js';
import { storedGuestDevices, storeGuestDevices, type DeviceChoice } from '../settings/devices.js';
import { useI18n, type MessageKey } from '../i18n/i18n.js';
import { MeetingJoin, outcomeOf } from '../room/MeetingJoin.js';
import { DialIn } from './DialIn.js';

type View =
  | { kind: 'loading' }
  | { kind: 'form'; meeting: GuestMeetingView }
  | { kind: 'joined'; meeting: GuestMeetingView; token: string; meetingId: string }
  | { kind: 'out'; title: MessageKey; hint: MessageKey };

const OUT_OF_STATE: Partial<Record<GuestMeetingView['state'], string>> = {
  expired: 'MEETING_EXPIRED',
  ended: 'MEETING_ENDED',
  cancelled: 'MEETING_CANCELLED',
};

/** Chromium-based browsers are what the meeting is tested with; others get a notice but may try. */
function isChromium(): boolean {
  const brands = (navigator as Navigator & { userAgentData?: { brands: { brand: string }[] } }).userAgentData
    ?.brands;
  if (brands) return brands.some((b) => b.brand === 'Chromium' || b.brand === 'Google Chrome');
  return /\b(Chrome|CriOS)\//.test(navigator.userAgent);
}

/** /m/<code>: title and organizer, a name with a camera/mic preview, then the waiting screen and the room. */
export function Guest({ code }: { code: string }): React.JSX.Element {
  const { t } = useI18n();
  const [view, setView] = useState<View>({ kind: 'loading' });
  const [name, setName] = useState('');
  const [nameError, setNameError] = useState<string | undefined>();
  const [pending, setPending] = useState(false);
  const [devices, setDevices] = useState<DeviceChoice>(storedGuestDevices);

  useEffect(() => {
    publicApi<GuestMeetingView>('GET', `/api/guest/${encodeURIComponent(code)}`).then(
      (meeting) => {
        const out = OUT_OF_STATE[meeting.state];
        setView(out ? { kind: 'out', ...outcomeOf(out) } : { kind: 'form', meeting });
      },
      (err: unknown) =>
        setView({ kind: 'out', ...outcomeOf(err instanceof ApiError ? err.code : undefined) }),
    );
  }, [code]);

  async function submit(event: FormEvent, meeting: GuestMeetingView): Promise<void> {
    event.preventDefault();
    if (!name.trim()) {
      setNameError(t('required'));
      return;
    }
    setNameError(undefined);
    setPending(true);
    try {
      const res = await publicApi<{ guestToken: string; meetingId: string }>(
        'POST',
        `/api/guest/${encodeURIComponent(code)}/join`,
        { displayName: name.trim() },
      );
      setView({ kind: 'joined', meeting, token: res.guestToken, meetingId: res.meetingId });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'VALIDATION_FAILED')
        setNameError(err.details[0]?.message ?? err.message);
      else setView({ kind: 'out', ...outcomeOf(err instanceof ApiError ? err.code : undefined) });
    } finally {
      setPending(false);
    }
  }

  if (view.kind === 'joined')
    return (
      <MeetingJoin
        token={view.token}
        meetingId={view.meetingId}
        title={view.meeting.title}
        devices={devices}
      />
    );

  return (
    <main className="centered guest">
      <h1 className="brand">{t('brand')}</h1>
      {view.kind === 'loading' && <p role="status">{t('loading')}</p>}
      {view.kind === 'out' && (
        <section className="card status-card" data-outcome={view.title}>
          <h2>{t(view.title)}</h2>
          <p className="muted">{t(view.hint)}</p>
        </section>
      )}
      {view.kind === 'form' && (
        <form className="card guest-form" noValidate onSubmit={(e) => void submit(e, view.meeting)}>
          {!isChromium() && (
            <p className="notice" role="note" data-testid="browser-notice">
              {t('browserNotice')}
            </p>
          )}
          <p className="muted">{t('guestWelcome')}</p>
          <h2>{view.meeting.title}</h2>
          <p>{t('organizedBy', { name: view.meeting.organizerName })}</p>
          {view.meeting.dialIn && <DialIn dialIn={view.meeting.dialIn} />}
          <div className="field">
            <label htmlFor="guest-name">{t('yourName')}</label>
            <input
              id="guest-name"
              autoComplete="name"
              maxLength={64}
              value={name}
              aria-invalid={nameError ? true : undefined}
              aria-describedby={nameError ? 'guest-name-error' : undefined}
              onChange={(e) => setName(e.target.value)}
            />
            {nameError && (
              <p className="field-error" id="guest-name-error" role="alert">
                {nameError}
              </p>
            )}
          </div>
          <DevicePreview
            idPrefix="guest"
            value={devices}
            onChange={(choice) => {
              setDevices(choice);
              storeGuestDevices(choice);
            }}
          />
          <button type="submit" className="primary" disabled={pending} aria-busy={pending}>
            {pending && <span className="spinner" aria-hidden="true" />}
            {t('join')}
          </button>
        </form>
      )}
    </main>
  );
}
