import { useEffect, useState } from 'react';
import type { Prefs } from '../App.js';
import { useI18n } from '../i18n/i18n.js';
import { canChooseOutput } from '../settings/devices.js';
import { ringDeviceOf } from './ringing.js';
import { PHONE_RINGTONES, ring, type PhoneRingtone } from './ringtones.js';

/** "Suoni di avviso": the ringtone per call type and the device that rings (manual, Impostazioni). */
export function PhoneRingSettings({
  prefs,
  save,
}: {
  prefs: Prefs;
  save: (patch: Partial<Prefs>) => void;
}): React.JSX.Element {
  const { t } = useI18n();
  const phone = prefs.phone;
  const [outputs, setOutputs] = useState<MediaDeviceInfo[]>([]);
  useEffect(() => {
    if (!canChooseOutput() || !navigator.mediaDevices?.enumerateDevices) return;
    navigator.mediaDevices.enumerateDevices().then(
      (all) => setOutputs(all.filter((d) => d.kind === 'audiooutput' && d.deviceId !== 'default')),
      () => undefined,
    );
  }, []);
  const preview = (tone: PhoneRingtone): void => {
    const stop = ring(tone, ringDeviceOf(prefs), 1);
    setTimeout(stop, 2_500);
  };
  const select = (key: 'ringInternal' | 'ringExternal', id: string): React.JSX.Element => (
    <div className="field">
      <label htmlFor={id}>{t(key)}</label>
      <select
        id={id}
        value={phone[key]}
        onChange={(e) => {
          const tone = PHONE_RINGTONES.find((r) => r === e.target.value) ?? 'ring1';
          save({ phone: { ...phone, [key]: tone } });
          preview(tone);
        }}
      >
        {PHONE_RINGTONES.map((r) => (
          <option key={r} value={r}>
            {t(r)}
          </option>
        ))}
      </select>
    </div>
  );
  return (
    <>
      {select('ringInternal', 'ring-internal')}
      {select('ringExternal', 'ring-external')}
      {outputs.length > 0 && (
        <div className="field">
          <label htmlFor="ring-device">{t('ringDevice')}</label>
          <select
            id="ring-device"
            value={phone.ringDevice ?? ''}
            onChange={(e) => {
              const rest = {
                web: phone.web,
                ringInternal: phone.ringInternal,
                ringExternal: phone.ringExternal,
              };
              save({ phone: e.target.value ? { ...rest, ringDevice: e.target.value } : rest });
            }}
          >
            <option value="">{t('ringDeviceDefault')}</option>
            {outputs.map((d) => (
              <option key={d.deviceId} value={d.deviceId}>
                {d.label || d.deviceId.slice(0, 8)}
              </option>
            ))}
          </select>
        </div>
      )}
    </>
  );
}
