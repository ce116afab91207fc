import { groupPinDigits, type DialInInfo } from '../../../../shared/dialIn.js';
import { useI18n } from '../i18n/i18n.js';

/** "Partecipa per telefono: chiama 8000, PIN 123 456 789": the PIN grouped in threes, as it is read and typed. */
export function DialIn({ dialIn }: { dialIn: DialInInfo }): React.JSX.Element {
  const { t } = useI18n();
  return (
    <p className="dial-in" data-testid="dial-in">
      <strong>{t('dialInTitle')}:</strong>{' '}
      <span>{t('dialInLine', { extension: dialIn.extension, pin: groupPinDigits(dialIn.pin) })}</span>
    </p>
  );
}
