import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import type { TelephonySettingsView } from '../../../../shared/schemas/calls.js';
import type { Prefs } from '../App.js';
import { api, type Profile, type PublicUser } from '../api/api.js';
import { useI18n } from '../i18n/i18n.js';
import { CallActionContext, type CallAction, type CallTarget } from './callAction.js';
import type { CallSnapshot, PhoneCall } from './PhoneCall.js';
import { callerLabel, isExternalNumber, ringDeviceOf, ringtoneFor, shouldNotify } from './ringing.js';
import { ring } from './ringtones.js';
import { WebPhone, type Registration } from './WebPhone.js';

const NOTICE_MS = 8_000;

export interface PhoneState {
  /** The "Telefono via web" preference. */
  web: boolean;
  /** `unavailable`: the server's telephony did not answer (503); tried again a bit later. */
  registration: Registration | 'unavailable';
  /** The call in progress, or the last one until dismissed (to show how it ended). */
  call: CallSnapshot | undefined;
  /** The controls of the call in progress. */
  active: PhoneCall | undefined;
  dial: (target: CallTarget) => void;
  answer: () => void;
  dismiss: () => void;
  setWeb: (on: boolean) => void;
  /** A line for the user (the click-to-call confirmation), or undefined. */
  notice: string | undefined;
  clearNotice: () => void;
  /** Counts the clicks on the incoming call's desktop notification: the banner takes the focus on each. */
  attention: number;
}

const PhoneContext = createContext<PhoneState | undefined>(undefined);

export function usePhone(): PhoneState {
  const phone = useContext(PhoneContext);
  if (!phone) throw new Error('usePhone outside PhoneProvider');
  return phone;
}

const RETRY_MS = 15_000;

/**
 * A colleague's "Cognome Nome" for an incoming call: the directory user of exactly that extension, among those the
 * search finds by its prefix (a short extension of a large directory may be missed: the call then shows the number).
 */
async function directoryName(number: string): Promise<string | undefined> {
  if (isExternalNumber(number)) return undefined;
  const found = await api<{ items: PublicUser[] }>(
    'GET',
    `/api/directory?q=${encodeURIComponent(number)}&pageSize=100`,
  );
  return found.items.find((u) => u.extension === number)?.displayName;
}

/**
 * The web phone for the whole signed-in app: registers while "Telefono via web" is on, rings (ringtone, and a
 * desktop notification when the tab is hidden or unfocused) on every screen, and provides the CallAction the call buttons
 * use: the browser when registered, otherwise click-to-call on the desk phone.
 */
export function PhoneProvider(props: {
  profile: Profile;
  prefs: Prefs;
  onPrefs: (patch: Partial<Prefs>) => Promise<void>;
  children: React.ReactNode;
}): React.JSX.Element {
  const { t } = useI18n();
  const { prefs, onPrefs, profile } = props;
  const web = prefs.phone.web;
  const [phone, setPhone] = useState<WebPhone | undefined>();
  const [registration, setRegistration] = useState<PhoneState['registration']>('off');
  const [active, setActive] = useState<PhoneCall | undefined>();
  const [call, setCall] = useState<CallSnapshot | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  // The click-to-call confirmation is a notice, not a dialog: it goes by itself, as it covers a corner of the screen.
  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(() => setNotice(undefined), NOTICE_MS);
    return () => clearTimeout(timer);
  }, [notice]);
  const devicesRef = useRef(prefs.devices);
  devicesRef.current = prefs.devices;
  const [retry, setRetry] = useState(0);

  useEffect(() => {
    if (!web) {
      setRegistration('off');
      return;
    }
    let live = true;
    let made: WebPhone | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setRegistration('connecting');
    WebPhone.create({
      settings: () => api<TelephonySettingsView>('GET', '/api/telephony/me'),
      devices: () => devicesRef.current,
      callerName: directoryName,
    }).then(
      (p) => {
        if (!live) {
          void p?.close();
          return;
        }
        if (!p) {
          // No telephony on this server: nothing to register, nor to try again.
          setRegistration('unavailable');
          return;
        }
        made = p;
        setPhone(p);
        setRegistration(p.registration);
        p.on('registration', setRegistration);
        p.on('call', (c) => {
          setActive(c);
          if (!c) return;
          setCall(c.snapshot);
          c.on('change', (s) => {
            // A transferred call is done with here: back to the dial pad, with a word of where it went.
            if (s.state === 'ended' && s.transferredTo !== undefined) {
              setCall(undefined);
              setNotice(t('callTransferred', { ext: s.transferredTo }));
            } else setCall(s);
          });
        });
      },
      () => {
        if (!live) return;
        setRegistration('unavailable');
        timer = setTimeout(() => setRetry((n) => n + 1), RETRY_MS);
      },
    );
    return () => {
      live = false;
      clearTimeout(timer);
      setPhone(undefined);
      setActive(undefined);
      void made?.close();
    };
  }, [web, retry]);

  // The ringtone and the desktop notification while a call rings here.
  const [attention, setAttention] = useState(0);
  const ringing = call?.state === 'ringing' ? call : undefined;
  useEffect(() => {
    if (!ringing) return;
    const stop = ring(ringtoneFor(ringing.number, prefs.phone), ringDeviceOf(prefs));
    let note: Notification | undefined;
    // Also when the user leaves the tab or the window while it rings: the banner is out of sight then.
    const notify = (): void => {
      if (note || !('Notification' in window)) return;
      const page = {
        hidden: document.visibilityState === 'hidden',
        focused: document.hasFocus(),
        permission: Notification.permission,
      };
      if (!shouldNotify(page)) return;
      try {
        note = new Notification(t('callRinging'), {
          body: t('callIncomingFrom', { name: callerLabel(ringing.name, ringing.number) }),
          tag: 'ucc-incoming-call',
          requireInteraction: true,
        });
      } catch {
        // Browsers that only notify from a service worker (Chrome on Android) throw: the ring goes on.
        return;
      }
      note.onclick = () => {
        window.focus();
        note?.close();
        setAttention((n) => n + 1);
      };
    };
    notify();
    document.addEventListener('visibilitychange', notify);
    window.addEventListener('blur', notify);
    return () => {
      stop();
      document.removeEventListener('visibilitychange', notify);
      window.removeEventListener('blur', notify);
      note?.close();
    };
    // One ring per ringing call: the snapshot changes while it rings, the call does not.
  }, [ringing?.number, ringing?.direction, active]);

  const registered = registration === 'registered' && phone !== undefined;
  const dial = useCallback(
    (target: CallTarget) => {
      if (registered && !phone.call) {
        phone.dial(target.number, target.name);
        return;
      }
      // The web phone off or not registered: the desk phone rings first, then calls (manual 2.2.2.x).
      api('POST', '/api/calls/click-to-call', { number: target.number }).then(
        () =>
          setNotice(
            t('clickToCallStarted', {
              number: target.number,
              name: profile.displayName,
              ext: profile.extension,
            }),
          ),
        () => setNotice(t('clickToCallFailed')),
      );
    },
    [registered, phone, t, profile.displayName, profile.extension],
  );

  const setWeb = useCallback(
    (on: boolean) => {
      // Asked on the user's click: a browser shows the permission prompt only then.
      if (on && 'Notification' in window && Notification.permission === 'default') {
        void Notification.requestPermission().catch(() => undefined);
      }
      void onPrefs({ phone: { ...prefs.phone, web: on } });
    },
    [onPrefs, prefs.phone],
  );

  const state = useMemo<PhoneState>(
    () => ({
      web,
      registration,
      call,
      active,
      dial,
      answer: () => phone?.answer(),
      dismiss: () => setCall((c) => (c?.state === 'ended' ? undefined : c)),
      setWeb,
      notice,
      clearNotice: () => setNotice(undefined),
      attention,
    }),
    [web, registration, call, active, dial, phone, setWeb, notice, attention],
  );
  // Without telephony on the server there is nothing to call with: the call buttons stay hidden.
  const available = registration !== 'unavailable';
  const callAction = useMemo<CallAction>(() => ({ available, call: dial }), [available, dial]);

  return (
    <PhoneContext.Provider value={state}>
      <CallActionContext.Provider value={callAction}>{props.children}</CallActionContext.Provider>
    </PhoneContext.Provider>
  );
}
