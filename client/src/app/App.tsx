import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import type { Preferences } from '../../../shared/schemas/directory.js';
import { api, logout, onSessionLost, resume, type Profile } from './api/api.js';
import { ErrorBoundary } from './ui/ErrorBoundary.js';
import { Guest } from './meetings/Guest.js';
import {
  applyPreferences,
  I18nContext,
  storedPreferences,
  translator,
  UI_PREFERENCES_KEY,
} from './i18n/i18n.js';
import { Login } from './auth/Login.js';
import { ResetPassword } from './auth/ResetPassword.js';

/** The signed-in app (chat, agenda, socket.io) loads after the login: the guest page does not carry it. */
const Shell = lazy(() => import('./Shell.js').then((m) => ({ default: m.Shell })));

export type Prefs = Preferences;

const DEFAULT_PREFS: Omit<Prefs, 'language' | 'darkTheme'> = {
  notificationSounds: true,
  sendSound: true,
  ringtones: true,
  devices: {},
  phone: { web: true, ringInternal: 'ring1', ringExternal: 'ring2' },
};

/** The root: the guest page for /m/<code>, otherwise the signed-in shell or the login. */
export function App(): React.JSX.Element {
  const guestCode = /^\/m\/([^/]+)\/?$/.exec(location.pathname)?.[1];
  const [resetToken, setResetToken] = useState(() =>
    location.pathname === '/reset-password'
      ? (new URLSearchParams(location.search).get('token') ?? '')
      : undefined,
  );
  const [prefs, setPrefs] = useState<Prefs>(() => ({ ...DEFAULT_PREFS, ...storedPreferences() }));
  const [profile, setProfile] = useState<Profile | undefined>();
  const [phase, setPhase] = useState<'boot' | 'login' | 'in'>(guestCode ? 'in' : 'boot');
  const [sessionEnded, setSessionEnded] = useState(false);

  useEffect(() => applyPreferences(prefs.language, prefs.darkTheme), [prefs]);
  // Language or theme changed in another tab (it saved them already): follow it here, without a reload.
  useEffect(() => {
    const follow = (e: StorageEvent): void => {
      if (e.key === UI_PREFERENCES_KEY) setPrefs((p) => ({ ...p, ...storedPreferences() }));
    };
    window.addEventListener('storage', follow);
    return () => window.removeEventListener('storage', follow);
  }, []);

  const loadProfile = useCallback(async () => {
    const me = await api<Profile>('GET', '/api/me');
    setProfile(me);
    setPrefs(me.preferences);
    setPhase('in');
  }, []);

  useEffect(() => {
    if (guestCode || resetToken !== undefined) return;
    onSessionLost((ended) => {
      setProfile(undefined);
      setSessionEnded(ended);
      setPhase('login');
    });
    void resume().then(async (ok) => {
      if (!ok) {
        setPhase('login');
        return;
      }
      await loadProfile().catch(() => setPhase('login'));
    });
  }, [guestCode, resetToken, loadProfile]);

  const savePrefs = useCallback(async (patch: Partial<Prefs>) => {
    setPrefs((p) => ({ ...p, ...patch }));
    const me = await api<Profile>('PATCH', '/api/me/preferences', patch);
    setProfile(me);
  }, []);

  const i18n = useMemo(() => ({ language: prefs.language, t: translator(prefs.language) }), [prefs.language]);

  let body: React.JSX.Element;
  if (guestCode) body = <Guest code={decodeURIComponent(guestCode)} />;
  else if (resetToken !== undefined)
    body = (
      <ResetPassword
        token={resetToken}
        onDone={() => {
          history.replaceState(null, '', '/');
          setResetToken(undefined);
        }}
      />
    );
  else if (phase === 'boot')
    body = (
      <main className="boot">
        <h1 className="brand">{i18n.t('brand')}</h1>
        <p role="status">{i18n.t('loading')}</p>
      </main>
    );
  else if (phase === 'login' || !profile)
    body = (
      <Login
        sessionEnded={sessionEnded}
        onSignedIn={() => void loadProfile().catch(() => setPhase('login'))}
      />
    );
  else
    body = (
      <Suspense
        fallback={
          <main className="boot">
            <h1 className="brand">{i18n.t('brand')}</h1>
            <p role="status">{i18n.t('loading')}</p>
          </main>
        }
      >
        <Shell
          profile={profile}
          prefs={prefs}
          onPrefs={savePrefs}
          onLogout={() => {
            void logout().finally(() => {
              setProfile(undefined);
              setPhase('login');
              history.replaceState(null, '', '/');
            });
          }}
        />
      </Suspense>
    );
  return (
    <I18nContext.Provider value={i18n}>
      <ErrorBoundary>{body}</ErrorBoundary>
    </I18nContext.Provider>
  );
}
