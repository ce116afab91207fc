import { useCallback, useEffect, useMemo, useState } from 'react';
import { api, logout, onSessionLost, resume, type Profile } from './api.js';
import { Guest } from './Guest.js';
import { applyPreferences, I18nContext, storedPreferences, translator, type Language } from './i18n.js';
import { Login } from './Login.js';
import { Shell } from './Shell.js';

export interface Prefs {
  language: Language;
  darkTheme: boolean;
}

/** The root: the guest page for /m/<code>, otherwise the signed-in shell or the login. */
export function App(): React.JSX.Element {
  const guestCode = /^\/m\/([^/]+)\/?$/.exec(location.pathname)?.[1];
  const [prefs, setPrefs] = useState<Prefs>(storedPreferences);
  const [profile, setProfile] = useState<Profile | undefined>();
  const [phase, setPhase] = useState<'boot' | 'login' | 'in'>(guestCode ? 'in' : 'boot');

  useEffect(() => applyPreferences(prefs.language, prefs.darkTheme), [prefs]);

  const loadProfile = useCallback(async () => {
    const me = await api<Profile>('GET', '/api/me');
    setProfile(me);
    setPrefs({ language: me.preferences.language, darkTheme: me.preferences.darkTheme });
    setPhase('in');
  }, []);

  useEffect(() => {
    if (guestCode) return;
    onSessionLost(() => {
      setProfile(undefined);
      setPhase('login');
    });
    void resume().then(async (ok) => {
      if (!ok) {
        setPhase('login');
        return;
      }
      await loadProfile().catch(() => setPhase('login'));
    });
  }, [guestCode, loadProfile]);

  const savePrefs = useCallback(async (patch: Partial<Prefs>) => {
    setPrefs((p) => ({ ...p, ...patch }));
    const me = await api<Profile>('PATCH', '/api/me/preferences', patch);
    setProfile(me);
  }, []);

  const i18n = useMemo(() => ({ language: prefs.language, t: translator(prefs.language) }), [prefs.language]);

  let body: React.JSX.Element;
  if (guestCode) body = <Guest code={decodeURIComponent(guestCode)} />;
  else if (phase === 'boot')
    body = (
      <main className="boot">
        <h1 className="brand">{i18n.t('brand')}</h1>
        <p role="status">{i18n.t('loading')}</p>
      </main>
    );
  else if (phase === 'login' || !profile)
    body = <Login onSignedIn={() => void loadProfile().catch(() => setPhase('login'))} />;
  else
    body = (
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
    );
  return <I18nContext.Provider value={i18n}>{body}</I18nContext.Provider>;
}
