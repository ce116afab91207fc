import type { LobbyEntry, ParticipantView } from '../../../../shared/protocol.js';
import type { MeetingConnection } from '../../media/MeetingConnection.js';
import { useI18n } from '../i18n/i18n.js';

/** The participants tab: for the organizer the waiting room first (admit, deny) and actions on each person. */
export function PeoplePanel({
  connection,
  people,
  lobby,
  hand,
  isOrganizer,
  pending,
  act,
}: {
  connection: MeetingConnection;
  people: ParticipantView[];
  lobby: LobbyEntry[];
  hand: boolean;
  isOrganizer: boolean;
  /** The action under way, if any: every button waits for it. */
  pending: string | undefined;
  act: (key: string, run: () => Promise<unknown>) => void;
}): React.JSX.Element {
  const { t } = useI18n();
  return (
    <>
      {isOrganizer && lobby.length > 0 && (
        <section className="lobby" aria-labelledby="lobby-title">
          <h3 id="lobby-title">
            {t('lobby')} ({lobby.length})
          </h3>
          <ul className="people">
            {lobby.map((w) => (
              <li key={w.waiterId} className="person" data-waiter={w.waiterId}>
                <span>{w.displayName}</span>
                <span className="person-actions">
                  <button
                    disabled={pending !== undefined}
                    aria-label={`${t('admit')}: ${w.displayName}`}
                    onClick={() =>
                      act(`admit-${w.waiterId}`, () =>
                        connection.request({ type: 'meeting.admit', waiterId: w.waiterId }),
                      )
                    }
                  >
                    {t('admit')}
                  </button>
                  <button
                    className="danger"
                    disabled={pending !== undefined}
                    aria-label={`${t('deny')}: ${w.displayName}`}
                    onClick={() =>
                      act(`deny-${w.waiterId}`, () =>
                        connection.request({ type: 'meeting.deny', waiterId: w.waiterId }),
                      )
                    }
                  >
                    {t('deny')}
                  </button>
                </span>
              </li>
            ))}
          </ul>
        </section>
      )}
      <ul className="people" aria-label={t('participantsTab')}>
        <li>
          <span>
            {hand && <span className="hand-badge">{t('handRaised')}</span>}
            {t('you')}
          </span>
        </li>
        {people.map((p) => (
          <li key={p.participantId} className="person" data-participant={p.participantId}>
            <span>
              {p.handRaised && <span className="hand-badge">{t('handRaised')}</span>}
              {p.displayName}
              {p.isOrganizer && <small className="muted"> · {t('organizer')}</small>}
              {p.connection === 'reconnecting' && <ReconnectingBadge />}
            </span>
            {isOrganizer && (
              <span className="person-actions">
                <button
                  disabled={pending !== undefined}
                  onClick={() =>
                    act(`mute-${p.participantId}`, () =>
                      connection.request({
                        type: 'media.muteParticipant',
                        participantId: p.participantId,
                        lock: false,
                      }),
                    )
                  }
                >
                  {t('muteParticipant')}
                </button>
                <button
                  disabled={pending !== undefined}
                  onClick={() =>
                    act(`cam-${p.participantId}`, () =>
                      connection.request({ type: 'media.stopCamera', participantId: p.participantId }),
                    )
                  }
                >
                  {t('stopCamera')}
                </button>
                <button
                  className="danger"
                  disabled={pending !== undefined}
                  onClick={() =>
                    act(`rm-${p.participantId}`, () =>
                      connection.request({
                        type: 'meeting.removeParticipant',
                        participantId: p.participantId,
                      }),
                    )
                  }
                >
                  {t('remove')}
                </button>
              </span>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}

/** On someone whose connection dropped: still in the meeting, perhaps back in a moment (amber, like our banner). */
export function ReconnectingBadge(): React.JSX.Element {
  const { t } = useI18n();
  return <span className="hand-badge reconnecting-badge">{t('participantReconnecting')}</span>;
}
