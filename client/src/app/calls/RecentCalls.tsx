import { useCallback, useEffect, useState } from 'react';
import { api, type Profile } from '../api/api.js';
import { useUserSocket, type UserSocket } from '../api/userSocket.js';
import { useI18n, type MessageKey } from '../i18n/i18n.js';
import { useCallAction } from '../phone/callAction.js';
import { dayLabel, durationLabel, groupByDay, partyLabel, peerLabel, timeLabel } from './callFormat.js';
import { FILTERS, isMissed, listCalls, type CallFilter, type CallRecordView } from './callsApi.js';
import { useMissedCalls } from './useMissedCalls.js';

const FILTER_LABEL = {
  all: 'callsAll',
  received: 'callsReceived',
  missed: 'callsMissed',
  outgoing: 'callsOutgoing',
  queue: 'callsQueue',
} as const satisfies Record<CallFilter, MessageKey>;

/** The manual's filter icons, as glyphs: the label next to each says what it is. */
const FILTER_ICON: Record<CallFilter, string> = {
  all: '⇅',
  received: '↙',
  missed: '✕',
  outgoing: '↗',
  queue: '☰',
};

const OUTCOME_LABEL = {
  answered: 'outcomeAnswered',
  missed: 'outcomeMissed',
  busy: 'outcomeBusy',
  rejected: 'outcomeRejected',
  cancelled: 'outcomeCancelled',
  failed: 'outcomeFailed',
} as const satisfies Record<CallRecordView['outcome'], MessageKey>;

const SEARCH_PAUSE_MS = 250;

/**
 * "Chiamate recenti dell'utente Cognome Nome <200>" (manual 2.2.2.8): the user's last 100 calls by day, newest
 * first, with the filters tutte / ricevute / perse / effettuate / da coda, the "Cerca" box and "Richiama" on each
 * row. It refreshes when a call of the user ends (`calls.changed`) and, while shown, marks the missed calls seen.
 * Every prop is optional: the shell's socket and the signed-in user are found without them.
 */
export function RecentCalls({
  socket,
  owner,
  markSeen = true,
}: {
  socket?: UserSocket;
  /** Whose list it is, for the title; fetched when not given. */
  owner?: Pick<Profile, 'displayName' | 'extension'>;
  /** Viewing the list clears the missed-calls badge (off for a list shown in the background). */
  markSeen?: boolean;
} = {}): React.JSX.Element {
  const { t, language } = useI18n();
  const shellSocket = useUserSocket();
  const live = socket ?? shellSocket;
  const action = useCallAction();
  const missed = useMissedCalls(live);
  const me = useOwner(owner);
  const [filter, setFilter] = useState<CallFilter>('all');
  const [query, setQuery] = useState('');
  const [searched, setSearched] = useState('');
  const [calls, setCalls] = useState<CallRecordView[] | undefined>();
  const [failed, setFailed] = useState(false);
  const [now, setNow] = useState(() => new Date());
  const [version, setVersion] = useState(0);
  const reload = useCallback(() => setVersion((v) => v + 1), []);

  // The search waits for a pause in the typing before asking the server.
  useEffect(() => {
    const timer = setTimeout(() => setSearched(query.trim()), SEARCH_PAUSE_MS);
    return () => clearTimeout(timer);
  }, [query]);

  useEffect(() => {
    let current = true;
    listCalls(filter, searched).then(
      (view) => {
        if (!current) return;
        setCalls(view.calls);
        setFailed(false);
        setNow(new Date());
      },
      () => {
        if (current) setFailed(true);
      },
    );
    return () => {
      current = false;
    };
  }, [filter, searched, version]);

  // A call that ends comes into the list; after a reconnection the list may have missed some.
  useEffect(() => {
    if (!live) return;
    const changed = ({ reason }: { reason: string }): void => {
      if (reason === 'recorded') reload();
    };
    live.on('calls.changed', changed);
    live.on('connect', reload);
    return () => {
      live.off('calls.changed', changed);
      live.off('connect', reload);
    };
  }, [live, reload]);

  // Shown and looked at: the missed calls are seen (the badge clears on every device).
  const { missed: unseen, seen } = missed;
  useEffect(() => {
    if (!markSeen || unseen === 0 || calls === undefined) return;
    const look = (): void => {
      if (document.visibilityState === 'visible') seen();
    };
    look();
    document.addEventListener('visibilitychange', look);
    return () => document.removeEventListener('visibilitychange', look);
  }, [markSeen, unseen, calls, seen]);

  const title = me ? t('recentCallsOf', { name: me.displayName, extension: me.extension }) : t('recentCalls');
  const words = { today: t('callsToday'), yesterday: t('callsYesterday') };
  const narrowed = filter !== 'all' || searched !== '';

  return (
    <section className="recent-calls" aria-labelledby="recent-calls-title">
      <h2 id="recent-calls-title">{title}</h2>
      <div className="calls-tools">
        <div className="calls-filters" role="group" aria-label={t('callsFilter')}>
          {FILTERS.map((f) => (
            <button
              key={f}
              type="button"
              data-filter={f}
              aria-pressed={filter === f}
              className={filter === f ? 'calls-filter active' : 'calls-filter'}
              onClick={() => setFilter(f)}
            >
              <span aria-hidden="true">{FILTER_ICON[f]}</span> {t(FILTER_LABEL[f])}
            </button>
          ))}
        </div>
        <div className="field calls-search">
          <label htmlFor="calls-q">{t('callsSearch')}</label>
          <input
            id="calls-q"
            type="search"
            autoComplete="off"
            placeholder={t('callsSearchHint')}
            value={query}
            onChange={(e) => setQuery(e.target.value)}
          />
        </div>
      </div>
      {failed && (
        <div className="calls-error" role="alert">
          <p className="form-error">{t('callsLoadFailed')}</p>
          <button type="button" onClick={reload}>
            {t('retry')}
          </button>
        </div>
      )}
      {calls === undefined ? (
        !failed && (
          <p role="status" className="muted">
            <span className="spinner" aria-hidden="true" /> {t('loading')}
          </p>
        )
      ) : calls.length === 0 ? (
        <p className="muted calls-empty">{narrowed ? t('noCallsMatch') : t('noCalls')}</p>
      ) : (
        groupByDay(calls).map((group) => {
          const day = dayLabel(group.date, now, language, words);
          return (
            <section key={group.key} className="calls-day" aria-labelledby={`calls-day-${group.key}`}>
              <h3 id={`calls-day-${group.key}`}>{day}</h3>
              <ol className="calls-list">
                {group.calls.map((call) => (
                  <CallRow
                    key={call.id}
                    call={call}
                    language={language}
                    onCall={
                      action.available
                        ? () =>
                            action.call({
                              number: call.peerNumber,
                              ...(call.peerName ? { name: call.peerName } : {}),
                            })
                        : undefined
                    }
                  />
                ))}
              </ol>
            </section>
          );
        })
      )}
    </section>
  );
}

function CallRow({
  call,
  language,
  onCall,
}: {
  call: CallRecordView;
  language: string;
  onCall: (() => void) | undefined;
}): React.JSX.Element {
  const { t } = useI18n();
  const missed = isMissed(call);
  const started = new Date(call.startedAt);
  const peer = peerLabel(call);
  return (
    <li
      className={missed ? 'call-row missed' : 'call-row'}
      data-call-id={call.id}
      data-direction={call.direction}
      data-outcome={call.outcome}
    >
      <span className="call-dir" aria-hidden="true">
        {call.direction === 'incoming' ? '↙' : '↗'}
      </span>
      <span className="visually-hidden">
        {t(call.direction === 'incoming' ? 'callIncoming' : 'callOutgoing')}
      </span>
      <time className="call-time" dateTime={call.startedAt}>
        {timeLabel(started, language)}
      </time>
      <span className="call-peer">{peer}</span>
      <span className="call-meta muted small">
        <span className="call-outcome">{t(OUTCOME_LABEL[call.outcome])}</span>
        {call.outcome === 'answered' && (
          <span className="call-duration">
            {t('callDuration', { duration: durationLabel(call.durationSec) })}
          </span>
        )}
        {call.queue && <span className="pill call-queue">{t('callFromQueue', { queue: call.queue })}</span>}
        {call.transferredBy && (
          <span className="pill call-transfer">
            {t('callTransferredBy', { name: partyLabel(call.transferredBy) })}
          </span>
        )}
        {call.transferredTo && (
          <span className="pill call-transfer">
            {t('callTransferredTo', { name: partyLabel(call.transferredTo) })}
          </span>
        )}
        {call.clickToCall && <span className="pill">{t('callClickToCall')}</span>}
      </span>
      {onCall && (
        <button
          type="button"
          className="call-back"
          aria-label={t('callBackName', { name: peer })}
          onClick={onCall}
        >
          <span aria-hidden="true">☎</span> {t('callBack')}
        </button>
      )}
    </li>
  );
}

/** The list's owner: as given, or the signed-in user's profile. */
function useOwner(
  given: Pick<Profile, 'displayName' | 'extension'> | undefined,
): Pick<Profile, 'displayName' | 'extension'> | undefined {
  const [fetched, setFetched] = useState<Profile | undefined>();
  useEffect(() => {
    if (given) return;
    let current = true;
    api<Profile>('GET', '/api/me').then(
      (p) => {
        if (current) setFetched(p);
      },
      // The title then reads "Chiamate recenti" alone.
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [given]);
  return given ?? fetched;
}
