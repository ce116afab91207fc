import { useState } from 'react';
import { extensionSchema } from '../../../../shared/schemas/directory.js';
import { useI18n } from '../i18n/i18n.js';
import { DialPad } from './DialPad.js';
import { failureKey } from './failureKey.js';
import { usePhone } from './PhoneProvider.js';
import { useCallTimer } from './useCallTimer.js';

/** The call in progress (or how the last one ended): status, timer and the controls. */
export function CallScreen(): React.JSX.Element | null {
  const { t } = useI18n();
  const phone = usePhone();
  const { call, active } = phone;
  const timer = useCallTimer(call?.state === 'connected' ? call.connectedAt : undefined);
  const [keypad, setKeypad] = useState(false);
  const [transferOpen, setTransferOpen] = useState(false);
  const [target, setTarget] = useState('');
  const [tones, setTones] = useState('');
  // The screen stays mounted between calls: a new call starts with the keypad and the transfer form closed and
  // no digits of the last one (React's reset-on-change pattern, during render).
  const [shownCall, setShownCall] = useState(active);
  if (active !== shownCall) {
    setShownCall(active);
    setKeypad(false);
    setTransferOpen(false);
    setTarget('');
    setTones('');
  }
  if (!call) return null;
  const who = call.name ? `${call.name} (${call.number})` : call.number;
  const connected = call.state === 'connected';
  const status =
    call.state === 'ringing'
      ? t('callIncomingFrom', { name: who })
      : call.state === 'calling'
        ? t('callCalling', { name: who })
        : call.state === 'connected'
          ? call.reconnecting
            ? t('callReconnecting')
            : call.held
              ? t('callOnHold')
              : call.transferring
                ? t('callTransferring')
                : t('callConnected')
          : t('callEnded');
  const validTarget = extensionSchema.safeParse(target).success;

  return (
    <section
      className="card call-screen"
      aria-label={t('phoneTitle')}
      data-state={call.state}
      data-reconnecting={call.reconnecting}
    >
      <p className="call-peer">{who}</p>
      <p className="call-status" role="status">
        {status}
        {connected && (
          <span className="call-timer" aria-label={t('callTimer')}>
            {' '}
            {timer}
          </span>
        )}
      </p>
      {call.failure && (
        <p className="form-error call-failure" role="alert">
          {t(failureKey(call.failure))}
        </p>
      )}
      {call.state === 'ended' ? (
        <button type="button" onClick={phone.dismiss}>
          {t('callDismiss')}
        </button>
      ) : (
        <div className="call-controls">
          {call.state === 'ringing' && (
            <button type="button" className="primary" onClick={phone.answer}>
              {t('callAnswer')}
            </button>
          )}
          {connected && (
            <>
              <button type="button" aria-pressed={call.muted} onClick={() => active?.mute(!call.muted)}>
                {t('callMute')}
              </button>
              <button type="button" aria-pressed={call.held} onClick={() => active?.hold(!call.held)}>
                {t('callHold')}
              </button>
              <button type="button" aria-pressed={keypad} onClick={() => setKeypad(!keypad)}>
                {t('callKeypad')}
              </button>
              <button
                type="button"
                aria-expanded={transferOpen}
                onClick={() => setTransferOpen(!transferOpen)}
              >
                {t('callTransfer')}
              </button>
            </>
          )}
          <button type="button" className="danger" onClick={() => active?.hangup()}>
            {call.state === 'ringing' ? t('callReject') : t('callHangup')}
          </button>
        </div>
      )}
      {connected && keypad && (
        <div className="call-dtmf">
          <output aria-live="polite">{tones}</output>
          <DialPad
            label={t('callKeypad')}
            onKey={(k) => {
              active?.dtmf(k);
              setTones((s) => (s + k).slice(-24));
            }}
          />
        </div>
      )}
      {connected && transferOpen && (
        <form
          className="call-transfer"
          onSubmit={(e) => {
            e.preventDefault();
            if (!validTarget) return;
            active?.transfer(target.trim());
            setTransferOpen(false);
          }}
        >
          <label htmlFor="transfer-target">{t('callTransferTo')}</label>
          <input
            id="transfer-target"
            inputMode="numeric"
            autoComplete="off"
            value={target}
            onChange={(e) => setTarget(e.target.value)}
          />
          <button type="submit" className="primary" disabled={!validTarget}>
            {t('callTransferGo')}
          </button>
        </form>
      )}
    </section>
  );
}
