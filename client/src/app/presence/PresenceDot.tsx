import type { PresenceState } from '../../../../shared/schemas/presence.js';
import { useI18n, type MessageKey } from '../i18n/i18n.js';

const LABELS: Record<PresenceState, MessageKey> = {
  available: 'presenceAvailable',
  onCall: 'presenceOnCall',
  inMeeting: 'presenceInMeeting',
  offline: 'presenceOffline',
};

/** A colleague's presence as a coloured dot; its name ("Al telefono"…) is what screen readers read. */
export function PresenceDot({ state }: { state: PresenceState | undefined }): React.JSX.Element | null {
  const { t } = useI18n();
  if (!state) return null;
  const label = t(LABELS[state]);
  return (
    <span
      className={`presence-dot presence-${state}`}
      role="img"
      aria-label={label}
      title={label}
      data-presence={state}
    />
  );
}
