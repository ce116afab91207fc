import { useEffect, useRef } from 'react';
import { useI18n } from '../i18n/i18n.js';
import './phone.css';
import { usePhone } from './PhoneProvider.js';
import { callerLabel } from './ringing.js';

/**
 * Over every screen (chat, meetings, the phone tab): a call ringing in the browser, with answer and reject; and
 * the click-to-call confirmation ("Chiamata in corso verso … dal terminale di …").
 */
export function IncomingCallBanner({ onAnswered }: { onAnswered: () => void }): React.JSX.Element | null {
  const { t } = useI18n();
  const phone = usePhone();
  const call = phone.call;
  const ringing = call?.state === 'ringing' ? call : undefined;
  const answerRef = useRef<HTMLButtonElement>(null);
  // A click on the desktop notification brings the call forward: Enter or Space answers it then.
  useEffect(() => {
    if (phone.attention > 0) answerRef.current?.focus();
  }, [phone.attention]);
  if (!ringing && !phone.notice) return null;
  return (
    <div className="phone-banners">
      {ringing && (
        <div className="card incoming-call" role="alertdialog" aria-label={t('callRinging')}>
          <p>{t('callIncomingFrom', { name: callerLabel(ringing.name, ringing.number) })}</p>
          <button
            ref={answerRef}
            type="button"
            className="primary"
            onClick={() => {
              phone.answer();
              onAnswered();
            }}
          >
            {t('callAnswer')}
          </button>
          <button type="button" className="danger" onClick={() => phone.active?.hangup()}>
            {t('callReject')}
          </button>
        </div>
      )}
      {phone.notice && (
        <div className="card phone-notice" role="status">
          <p>{phone.notice}</p>
          <button type="button" className="link" onClick={phone.clearNotice}>
            {t('close')}
          </button>
        </div>
      )}
    </div>
  );
}
