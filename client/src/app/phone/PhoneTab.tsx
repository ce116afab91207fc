import { useState } from 'react';
import type { Profile } from '../api/api.js';
import { useDirectorySearch } from '../api/useDirectorySearch.js';
import { RecentCalls } from '../calls/RecentCalls.js';
import { useI18n, type MessageKey } from '../i18n/i18n.js';
import { CallScreen } from './CallScreen.js';
import { DialPad } from './DialPad.js';
import { usePhone, type PhoneState } from './PhoneProvider.js';
import './phone.css';

const REGISTRATION_KEYS: Record<PhoneState['registration'], MessageKey> = {
  off: 'webPhoneOff',
  connecting: 'phoneConnecting',
  reconnecting: 'phoneReconnecting',
  registered: 'phoneRegistered',
  unregistered: 'phoneUnregistered',
  failed: 'phoneRegFailed',
  unavailable: 'phoneUnavailable',
};

/**
 * "Telefono": the power button of the web phone (blue on, white off: manual 2.2.2.1), the call screen, a
 * number box that also searches colleagues (double-click or "Chiama" calls), the keypad, and Chiamate recenti.
 */
export function PhoneTab({
  profile,
}: {
  profile: Pick<Profile, 'displayName' | 'extension'>;
}): React.JSX.Element {
  const { t } = useI18n();
  const phone = usePhone();
  const [query, setQuery] = useState('');
  const { results } = useDirectorySearch(query);
  const number = query.replace(/[\s.-]/g, '');
  const dialable = /^\+?\d{2,20}$/.test(number);
  const busy = phone.call !== undefined && phone.call.state !== 'ended';

  return (
    <div className="phone-tab">
      <div className="phone-head">
        <button
          type="button"
          className={phone.web ? 'power on' : 'power'}
          aria-pressed={phone.web}
          onClick={() => phone.setWeb(!phone.web)}
        >
          <svg className="power-icon" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
            {/* The power symbol, drawn: the system fonts have no glyph for U+23FB. */}
            <path
              d="M12 3v9M6.3 6.3a8 8 0 1 0 11.4 0"
              fill="none"
              stroke="currentColor"
              strokeWidth="2.2"
              strokeLinecap="round"
            />
          </svg>{' '}
          {t('webPhone')}
        </button>
        <span className="muted phone-registration" data-registration={phone.registration}>
          {phone.web ? t(REGISTRATION_KEYS[phone.registration]) : t('webPhoneOff')}
        </span>
      </div>
      <CallScreen />
      {!busy && (
        <section className="card phone-dialer" aria-label={t('dialPad')}>
          <form
            className="phone-dial"
            onSubmit={(e) => {
              e.preventDefault();
              const first = results[0];
              if (dialable) phone.dial({ number });
              else if (first) phone.dial({ number: first.extension, name: first.displayName });
            }}
          >
            <label htmlFor="phone-number" className="visually-hidden">
              {t('dialNumber')}
            </label>
            <input
              id="phone-number"
              type="search"
              autoComplete="off"
              placeholder={t('dialSearch')}
              value={query}
              onChange={(e) => setQuery(e.target.value)}
            />
            <button type="submit" className="primary" disabled={!dialable && results.length === 0}>
              {t('dialCall')}
            </button>
          </form>
          {results.length > 0 && (
            <ul className="phone-results">
              {results.map((u) => (
                <li key={u.id} onDoubleClick={() => phone.dial({ number: u.extension, name: u.displayName })}>
                  <span>
                    {u.displayName} <span className="muted">{u.extension}</span>
                  </span>
                  <button
                    type="button"
                    className="link"
                    aria-label={`${t('dialCall')} ${u.displayName}`}
                    onClick={() => phone.dial({ number: u.extension, name: u.displayName })}
                  >
                    {t('dialCall')}
                  </button>
                </li>
              ))}
            </ul>
          )}
          <DialPad label={t('dialPad')} onKey={(k) => setQuery((q) => q + k)} />
          <button type="button" className="link" onClick={() => setQuery((q) => q.slice(0, -1))}>
            {t('dialDelete')}
          </button>
        </section>
      )}
      {/* The owner given: the title reads in full from the first paint, not after a second /api/me. */}
      <RecentCalls owner={profile} />
    </div>
  );
}
