import { useState } from 'react';
import type { Prefs } from '../App.js';
import { DevicePreview } from './DevicePreview.js';
import type { DeviceChoice } from './devices.js';
import { Toggle } from '../ui/forms.js';
import { useI18n } from '../i18n/i18n.js';
import { PhoneRingSettings } from '../phone/PhoneRingSettings.js';

/** Impostazioni: devices, notification sounds, lingua, tema scuro; each change is saved to the profile at once. */
export function Settings({
  prefs,
  onPrefs,
}: {
  prefs: Prefs;
  onPrefs: (patch: Partial<Prefs>) => Promise<void>;
}): React.JSX.Element {
  const { t } = useI18n();
  const [pending, setPending] = useState(0);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState(false);
  const save = (patch: Partial<Prefs>): void => {
    setPending((n) => n + 1);
    setError(false);
    setSaved(false);
    onPrefs(patch)
      .then(() => setSaved(true))
      .catch(() => setError(true))
      .finally(() => setPending((n) => n - 1));
  };
  const devices = (choice: DeviceChoice): void => {
    const clean: Prefs['devices'] = {};
    if (choice.audioInput) clean.audioInput = choice.audioInput;
    if (choice.videoInput) clean.videoInput = choice.videoInput;
    if (choice.audioOutput) clean.audioOutput = choice.audioOutput;
    save({ devices: clean });
  };

  return (
    <div className="settings">
      <fieldset>
        <legend>{t('devices')}</legend>
        <DevicePreview idPrefix="settings" value={prefs.devices} onChange={devices} />
      </fieldset>
      <fieldset>
        <legend>{t('sounds')}</legend>
        <Toggle
          id="notification-sounds"
          label={t('incomingSound')}
          checked={prefs.notificationSounds}
          onChange={(on) => save({ notificationSounds: on })}
        />
        <Toggle
          id="send-sound"
          label={t('sendSound')}
          checked={prefs.sendSound}
          onChange={(on) => save({ sendSound: on })}
        />
        <PhoneRingSettings prefs={prefs} save={save} />
      </fieldset>
      <fieldset>
        <legend>{t('appearance')}</legend>
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
        <Toggle
          id="dark-theme"
          label={t('darkTheme')}
          checked={prefs.darkTheme}
          onChange={(on) => save({ darkTheme: on })}
        />
      </fieldset>
      <p role="status" className="muted" data-saving={pending > 0}>
        {pending > 0 ? t('saving') : saved ? t('saved') : ''}
      </p>
      {error && (
        <p className="form-error" role="alert">
          {t('genericError')}
        </p>
      )}
    </div>
  );
}
