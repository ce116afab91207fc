import { lazy, Suspense, useEffect, useState } from 'react';
import type { WaitingFor } from '../../../../shared/protocol.js';
import { MeetingConnection, RequestError } from '../../media/MeetingConnection.js';
import type { DeviceChoice } from '../settings/devices.js';
import { useI18n, type MessageKey } from '../i18n/i18n.js';

/** The room (and mediasoup-client with it) loads only once admitted: the guest page's first load stays small. */
const Room = lazy(() => import('./Room.js'));

type Phase =
  | { kind: 'connecting' }
  | { kind: 'waiting'; waitingFor: WaitingFor }
  | { kind: 'joined' }
  | { kind: 'out'; title: MessageKey; hint?: MessageKey };

/** Maps a refusal to the page that explains it. */
export function outcomeOf(code: string | undefined): { title: MessageKey; hint: MessageKey } {
  switch (code) {
    case 'MEETING_EXPIRED':
      return { title: 'linkExpired', hint: 'linkExpiredHint' };
    case 'MEETING_ENDED':
    case 'ended':
      return { title: 'linkEnded', hint: 'linkEndedHint' };
    case 'MEETING_CANCELLED':
      return { title: 'linkCancelled', hint: 'linkCancelledHint' };
    case 'REMOVED_FROM_MEETING':
    case 'removed':
      return { title: 'removedTitle', hint: 'removedHint' };
    case 'denied':
      return { title: 'deniedTitle', hint: 'deniedHint' };
    case 'cancelled':
      return { title: 'linkCancelled', hint: 'linkCancelledHint' };
    case 'linkRotated':
      return { title: 'linkRotatedTitle', hint: 'linkRotatedHint' };
    case 'MEETING_FULL':
      return { title: 'meetingFullTitle', hint: 'meetingFullHint' };
    case 'RATE_LIMITED':
      return { title: 'rateLimited', hint: 'tooManyAttemptsHint' };
    case 'replaced':
      return { title: 'replacedTitle', hint: 'replacedHint' };
    case 'sessionEnded':
      return { title: 'sessionEndedTitle', hint: 'sessionEndedHint' };
    case 'rejoinFailed':
    case 'DISCONNECTED':
    case 'TIMEOUT':
      return { title: 'connectionLost', hint: 'connectionLostHint' };
    case 'MEETING_NOT_FOUND':
      return { title: 'linkInvalid', hint: 'linkInvalidHint' };
    case undefined:
    default:
      return { title: 'linkInvalid', hint: 'genericError' };
  }
}

/** Connects, waits for the organizer ("In attesa dell'organizzatore…") and shows the room once admitted. */
export function MeetingJoin(props: {
  token: string | (() => Promise<string>);
  /** New tokens of the signed-in user, for a long meeting to outlive its first token (see MeetingConnection). */
  renewals?: (listener: (token: string) => void) => () => void;
  meetingId: string;
  title: string;
  devices?: DeviceChoice;
  exitLabel?: string;
  onExit?: () => void;
}): React.JSX.Element {
  const { t } = useI18n();
  const [phase, setPhase] = useState<Phase>({ kind: 'connecting' });
  const [connection, setConnection] = useState<MeetingConnection | undefined>();
  const { token, meetingId, renewals } = props;

  useEffect(() => {
    let conn: MeetingConnection | undefined;
    let cancelled = false;
    void (async () => {
      try {
        conn = await MeetingConnection.connect({ token, meetingId, ...(renewals ? { renewals } : {}) });
        if (cancelled) {
          conn.close();
          return;
        }
        setConnection(conn);
        const c = conn;
        conn.on('state', (s) => {
          if (s === 'waiting') setPhase({ kind: 'waiting', waitingFor: c.waitingFor });
        });
        conn.on('waitingFor', (waitingFor) => setPhase({ kind: 'waiting', waitingFor }));
        conn.on('removed', (reason) => {
          setPhase({ kind: 'out', ...outcomeOf(reason) });
        });
        await conn.join(meetingId);
        if (!cancelled) setPhase({ kind: 'joined' });
      } catch (err) {
        if (cancelled) return;
        // Not an answer of the server: the connection itself failed.
        const code = err instanceof RequestError ? err.code : 'DISCONNECTED';
        setPhase((p) => (p.kind === 'out' ? p : { kind: 'out', ...outcomeOf(code) }));
      }
    })();
    return () => {
      cancelled = true;
      if (conn) {
        const c = conn;
        void c.leave().finally(() => c.close());
      }
    };
  }, [token, meetingId, renewals]);

  if (phase.kind === 'joined' && connection)
    return (
      <Suspense
        fallback={
          <main className="centered">
            <p role="status">{t('loading')}</p>
          </main>
        }
      >
        <Room
          connection={connection}
          title={props.title}
          {...(props.devices ? { devices: props.devices } : {})}
          onLeave={() => {
            void connection.leave();
            setPhase({ kind: 'out', title: 'leftTitle' });
          }}
        />
      </Suspense>
    );

  return (
    <main className="centered">
      <section className="card status-card" aria-live="polite">
        <h2>{props.title}</h2>
        {phase.kind === 'connecting' && <p role="status">{t('connecting')}</p>}
        {phase.kind === 'waiting' && (
          <>
            <span className="spinner large" aria-hidden="true" />
            <p role="status" className="waiting">
              {t(phase.waitingFor === 'admission' ? 'waitingAdmission' : 'waiting')}
            </p>
            <p className="muted">
              {t(phase.waitingFor === 'admission' ? 'waitingAdmissionHint' : 'waitingHint')}
            </p>
          </>
        )}
        {phase.kind === 'out' && (
          <>
            <h3 className="outcome">{t(phase.title)}</h3>
            {phase.hint && <p className="muted">{t(phase.hint)}</p>}
          </>
        )}
        {props.onExit && phase.kind !== 'joined' && (
          <button onClick={props.onExit}>{props.exitLabel ?? t('close')}</button>
        )}
      </section>
    </main>
  );
}
