import { useEffect, useRef, useState } from 'react';
import type { MeetingView } from '../../../shared/schemas/meetings.js';
import type { Prefs } from './App.js';
import { accessToken, api, type Profile } from './api.js';
import { useI18n } from './i18n.js';
import { MeetingJoin } from './MeetingJoin.js';
import { Meetings } from './Meetings.js';

type Tab = 'chat' | 'meeting';
type Panel = 'profile' | 'settings' | undefined;

interface ChatRoomSummary {
  roomId: string;
  name: string;
  unread: number;
  lastMessage?: { body: string };
}

/** Tabs Chat and Meeting, the profile menu ("Il tuo profilo", "Impostazioni", "Esci"). */
export function Shell(props: {
  profile: Profile;
  prefs: Prefs;
  onPrefs: (patch: Partial<Prefs>) => Promise<void>;
  onLogout: () => void;
}): React.JSX.Element {
  const { t } = useI18n();
  const { profile } = props;
  const [tab, setTab] = useState<Tab>('meeting');
  const [menuOpen, setMenuOpen] = useState(false);
  const [panel, setPanel] = useState<Panel>();
  const [room, setRoom] = useState<MeetingView | undefined>();
  const menuRef = useRef<HTMLDivElement>(null);

  // A meeting link (/meetings/<id>, the invitees' joinUrl) opens that meeting once signed in.
  useEffect(() => {
    const id = /^\/meetings\/([0-9a-f]{24})\/?$/.exec(location.pathname)?.[1];
    if (!id) return;
    api<MeetingView>('GET', `/api/meetings/${id}`).then(setRoom, () => history.replaceState(null, '', '/'));
  }, []);
  useEffect(() => {
    const back = (): void => {
      if (!location.pathname.startsWith('/meetings/')) setRoom(undefined);
    };
    window.addEventListener('popstate', back);
    return () => window.removeEventListener('popstate', back);
  }, []);

  const openRoom = (meeting: MeetingView | undefined): void => {
    history.pushState(null, '', meeting ? `/meetings/${meeting.id}` : '/');
    setRoom(meeting);
  };

  useEffect(() => {
    if (!menuOpen) return;
    const close = (e: MouseEvent): void => {
      if (!menuRef.current?.contains(e.target as Node)) setMenuOpen(false);
    };
    document.addEventListener('click', close);
    return () => document.removeEventListener('click', close);
  }, [menuOpen]);

  if (room)
    return (
      <MeetingJoin
        token={accessToken}
        meetingId={room.id}
        title={room.title}
        onExit={() => openRoom(undefined)}
        exitLabel={t('backToAgenda')}
      />
    );

  const initials = `${profile.firstName[0] ?? ''}${profile.lastName[0] ?? ''}`.toUpperCase();
  return (
    <div className="shell">
      <header className="topbar">
        <h1 className="brand">{t('brand')}</h1>
        <nav role="tablist" aria-label={t('brand')} className="tabs">
          {(['chat', 'meeting'] as const).map((name) => (
            <button
              key={name}
              role="tab"
              id={`tab-${name}`}
              aria-selected={tab === name}
              aria-controls={`panel-${name}`}
              className={tab === name ? 'tab active' : 'tab'}
              onClick={() => setTab(name)}
            >
              {name === 'chat' ? t('tabChat') : t('tabMeeting')}
            </button>
          ))}
        </nav>
        <div className="profile" ref={menuRef}>
          <button
            className="avatar"
            aria-haspopup="menu"
            aria-expanded={menuOpen}
            aria-label={t('profileMenu')}
            onClick={() => setMenuOpen(!menuOpen)}
          >
            {initials}
          </button>
          {menuOpen && (
            <div role="menu" className="menu">
              <p className="menu-name">{profile.displayName}</p>
              {(
                [
                  ['profile', t('yourProfile')],
                  ['settings', t('settings')],
                ] as const
              ).map(([key, label]) => (
                <button
                  key={key}
                  role="menuitem"
                  onClick={() => {
                    setPanel(key);
                    setMenuOpen(false);
                  }}
                >
                  {label}
                </button>
              ))}
              <button role="menuitem" onClick={props.onLogout}>
                {t('logout')}
              </button>
            </div>
          )}
        </div>
      </header>
      {panel && (
        <section className="card panel" aria-labelledby="panel-title">
          <div className="panel-head">
            <h2 id="panel-title">{panel === 'profile' ? t('yourProfile') : t('settings')}</h2>
            <button className="link" onClick={() => setPanel(undefined)}>
              {t('close')}
            </button>
          </div>
          {panel === 'profile' ? (
            <dl className="profile-data">
              <dt>{t('username')}</dt>
              <dd>{profile.displayName}</dd>
              <dt>{t('extension')}</dt>
              <dd>{profile.extension}</dd>
              <dt>{t('plan')}</dt>
              <dd>{profile.plan.toUpperCase()}</dd>
            </dl>
          ) : (
            <Settings prefs={props.prefs} onPrefs={props.onPrefs} />
          )}
        </section>
      )}
      <main id={`panel-${tab}`} role="tabpanel" aria-labelledby={`tab-${tab}`} className="content">
        {tab === 'chat' ? <ChatList /> : <Meetings profile={profile} onStart={openRoom} />}
      </main>
    </div>
  );
}

function Settings({
  prefs,
  onPrefs,
}: {
  prefs: Prefs;
  onPrefs: (patch: Partial<Prefs>) => Promise<void>;
}): React.JSX.Element {
  const { t } = useI18n();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState(false);
  const save = (patch: Partial<Prefs>): void => {
    setPending(true);
    setError(false);
    onPrefs(patch)
      .catch(() => setError(true))
      .finally(() => setPending(false));
  };
  return (
    <div className="settings">
      <div className="field">
        <label htmlFor="language">{t('language')}</label>
        <select
          id="language"
          value={prefs.language}
          onChange={(e) => save({ language: e.target.value === 'en' ? 'en' : 'it' })}
        >
          <option value="it">Italiano</option>
          <option value="en">English</option>
        </select>
      </div>
      <div className="field checkbox">
        <input
          id="dark-theme"
          type="checkbox"
          checked={prefs.darkTheme}
          onChange={(e) => save({ darkTheme: e.target.checked })}
        />
        <label htmlFor="dark-theme">{t('darkTheme')}</label>
      </div>
      <p role="status" className="muted" data-saving={pending}>
        {pending ? t('saving') : ''}
      </p>
      {error && (
        <p className="form-error" role="alert">
          {t('genericError')}
        </p>
      )}
    </div>
  );
}

function ChatList(): React.JSX.Element {
  const { t } = useI18n();
  const [rooms, setRooms] = useState<ChatRoomSummary[] | undefined>();
  const [error, setError] = useState(false);
  useEffect(() => {
    api<{ items: ChatRoomSummary[] }>('GET', '/api/chat/rooms').then(
      (r) => setRooms(r.items),
      () => setError(true),
    );
  }, []);
  return (
    <section aria-labelledby="chat-title">
      <h2 id="chat-title">{t('chatRooms')}</h2>
      {error ? (
        <p role="alert">{t('genericError')}</p>
      ) : !rooms ? (
        <p role="status">{t('loading')}</p>
      ) : rooms.length === 0 ? (
        <p className="muted">{t('noChats')}</p>
      ) : (
        <ul className="list">
          {rooms.map((r) => (
            <li key={r.roomId} className="row">
              <span className="grow">
                <strong>{r.name}</strong>
                {r.lastMessage && <span className="muted block">{r.lastMessage.body}</span>}
              </span>
              {r.unread > 0 && (
                <span className="badge" aria-label={`${r.unread} ${t('unread')}`}>
                  {r.unread}
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
