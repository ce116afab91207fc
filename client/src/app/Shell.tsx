import { useCallback, useEffect, useRef, useState } from 'react';
import type { ChatMessageView } from '../../../shared/schemas/chat.js';
import type { MeetingView } from '../../../shared/schemas/meetings.js';
import type { Prefs } from './App.js';
import { accessToken, api, onAccessToken, type Profile } from './api/api.js';
import { Chat } from './chat/Chat.js';
import { Contacts } from './contacts/Contacts.js';
import { useI18n } from './i18n/i18n.js';
import { MeetingJoin } from './room/MeetingJoin.js';
import { Meetings } from './meetings/Meetings.js';
import { Profile as ProfilePanel } from './settings/Profile.js';
import { Settings } from './settings/Settings.js';
import { playIncoming } from './ui/sounds.js';
import { useChatRooms } from './chat/useChatRooms.js';
import { connectUserSocket, UserSocketContext, type UserSocket } from './api/userSocket.js';
import { useMissedCalls } from './calls/useMissedCalls.js';
import { IncomingCallBanner } from './phone/IncomingCallBanner.js';
import { PhoneProvider, usePhone } from './phone/PhoneProvider.js';
import { PhoneTab } from './phone/PhoneTab.js';
import { usePresenceFeed } from './presence/usePresence.js';

type Tab = 'chat' | 'meeting' | 'contacts' | 'phone';
type Panel = 'profile' | 'settings' | undefined;
const TAB_LABELS = {
  chat: 'tabChat',
  meeting: 'tabMeeting',
  contacts: 'tabContacts',
  phone: 'tabPhone',
} as const;

interface ShellProps {
  profile: Profile;
  prefs: Prefs;
  onPrefs: (patch: Partial<Prefs>) => Promise<void>;
  onLogout: () => void;
}

/** The signed-in app inside the web phone, which rings on every screen and provides the call buttons' action. */
export function Shell(props: ShellProps): React.JSX.Element {
  return (
    <PhoneProvider profile={props.profile} prefs={props.prefs} onPrefs={props.onPrefs}>
      <ShellBody {...props} />
    </PhoneProvider>
  );
}

/** Tabs Chat, Meeting, Rubrica and Telefono, the profile menu ("Il tuo profilo", "Impostazioni", "Esci"). */
function ShellBody(props: ShellProps): React.JSX.Element {
  const { t } = useI18n();
  const { profile } = props;
  const [tab, setTab] = useState<Tab>('meeting');
  const [menuOpen, setMenuOpen] = useState(false);
  const [panel, setPanel] = useState<Panel>();
  const [room, setRoom] = useState<MeetingView | undefined>();
  const menuRef = useRef<HTMLDivElement>(null);
  const [socket] = useState<UserSocket>(connectUserSocket);
  useEffect(() => () => void socket.close(), [socket]);
  usePresenceFeed(socket);
  const phone = usePhone();
  const missedCalls = useMissedCalls(socket);
  // A call placed or answered here shows its call screen.
  const inCall = phone.active !== undefined && phone.call?.state !== 'ringing';
  useEffect(() => {
    if (inCall) setTab('phone');
  }, [inCall, phone.active]);
  const seenMissed = missedCalls.seen;
  useEffect(() => {
    if (tab === 'phone') seenMissed();
  }, [tab, seenMissed]);
  const banner = <IncomingCallBanner onAnswered={() => setTab('phone')} />;

  // A colleague's message while the tab is in the background plays the notification sound (if enabled).
  const soundsOn = props.prefs.notificationSounds;
  const onMessage = useCallback(
    (m: ChatMessageView) => {
      if (soundsOn && document.visibilityState === 'hidden' && m.sender.userId !== profile.id) playIncoming();
    },
    [soundsOn, profile.id],
  );
  const chat = useChatRooms(socket, profile.id, onMessage);

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
    // Escape closes the menu and gives the focus back to its button, as a menu button should.
    const escape = (e: KeyboardEvent): void => {
      if (e.key !== 'Escape') return;
      setMenuOpen(false);
      menuRef.current?.querySelector<HTMLButtonElement>('button.avatar')?.focus();
    };
    document.addEventListener('click', close);
    document.addEventListener('keydown', escape);
    // The first item takes the focus, so the keyboard can go on from there.
    menuRef.current?.querySelector<HTMLButtonElement>('[role=menuitem]')?.focus();
    return () => {
      document.removeEventListener('click', close);
      document.removeEventListener('keydown', escape);
    };
  }, [menuOpen]);

  if (room)
    return (
      <>
        {banner}
        <MeetingJoin
          token={accessToken}
          renewals={onAccessToken}
          meetingId={room.id}
          title={room.title}
          devices={props.prefs.devices}
          onExit={() => openRoom(undefined)}
          exitLabel={t('backToAgenda')}
        />
      </>
    );

  const initials = `${profile.firstName[0] ?? ''}${profile.lastName[0] ?? ''}`.toUpperCase();
  return (
    <div className="shell">
      {banner}
      <header className="topbar">
        <h1 className="brand">{t('brand')}</h1>
        <nav role="tablist" aria-label={t('brand')} className="tabs">
          {(['chat', 'meeting', 'contacts', 'phone'] as const).map((name) => (
            <button
              key={name}
              role="tab"
              id={`tab-${name}`}
              aria-selected={tab === name}
              aria-controls={`panel-${name}`}
              className={tab === name ? 'tab active' : 'tab'}
              onClick={() => setTab(name)}
            >
              {t(TAB_LABELS[name])}
              {name === 'chat' && chat.totalUnread > 0 && (
                <span className="badge" aria-label={t('unreadCount', { n: chat.totalUnread })}>
                  {chat.totalUnread}
                </span>
              )}
              {name === 'phone' && missedCalls.missed > 0 && (
                <span
                  className="badge"
                  aria-label={
                    missedCalls.missed === 1
                      ? t('missedUnseenOne')
                      : t('missedUnseen', { n: missedCalls.missed })
                  }
                >
                  {missedCalls.missed}
                </span>
              )}
            </button>
          ))}
        </nav>
        <div className="profile" ref={menuRef}>
          <button
            className="avatar"
            aria-haspopup="menu"
            aria-expanded={menuOpen}
            title={profile.displayName}
            onClick={() => setMenuOpen(!menuOpen)}
          >
            {/* The initials are decoration; the name read out is the menu's. */}
            <span aria-hidden="true">{initials}</span>
            <span className="visually-hidden">{t('profileMenu')}</span>
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
        <section
          className="card panel"
          aria-labelledby="panel-title"
          onKeyDown={(e) => {
            if (e.key === 'Escape') setPanel(undefined);
          }}
        >
          <div className="panel-head">
            <h2 id="panel-title">{panel === 'profile' ? t('yourProfile') : t('settings')}</h2>
            <button className="link" onClick={() => setPanel(undefined)}>
              {t('close')}
            </button>
          </div>
          {panel === 'profile' ? (
            <ProfilePanel profile={profile} />
          ) : (
            <Settings prefs={props.prefs} onPrefs={props.onPrefs} />
          )}
        </section>
      )}
      <main id={`panel-${tab}`} role="tabpanel" aria-labelledby={`tab-${tab}`} className="content">
        {tab === 'phone' ? (
          // Chiamate recenti inside the tab listens to this user socket for new records.
          <UserSocketContext.Provider value={socket}>
            <PhoneTab profile={profile} />
          </UserSocketContext.Provider>
        ) : tab === 'contacts' ? (
          <Contacts profile={profile} />
        ) : tab === 'chat' ? (
          <Chat chat={chat} socket={socket} myId={profile.id} sendSound={props.prefs.sendSound} />
        ) : (
          <Meetings profile={profile} socket={socket} onStart={openRoom} />
        )}
      </main>
    </div>
  );
}
