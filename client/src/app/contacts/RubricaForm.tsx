import { useEffect, useRef, type FormEvent, type ReactNode } from 'react';
import { useI18n } from '../i18n/i18n.js';
import { LoadFailed } from './Dialog.js';

/** Where a Rubrica form goes after a save: back to its list, to a new blank form, or stays on what it saved. */
export type SaveNext = 'list' | 'another' | 'continue';

/**
 * The frame both Rubrica forms share: the load failure or "loading" while the edited item comes, then the card
 * with its heading (focused on open, so a screen reader starts there), "Torna all'elenco", the fields, the form
 * error, the saved notice and the three save buttons (none for a read-only item).
 */
export function RubricaForm({
  titleId,
  title,
  loading,
  loadError,
  pending,
  formError,
  savedNotice,
  saveLabel,
  readOnly = false,
  onSave,
  onClose,
  children,
}: {
  titleId: string;
  title: string;
  loading: boolean;
  loadError: string | undefined;
  pending: boolean;
  formError: string | undefined;
  /** Shown after a save that stays on the form ("Salva e continua"). */
  savedNotice: string | undefined;
  saveLabel: string;
  readOnly?: boolean;
  onSave: (next: SaveNext, event?: FormEvent) => void;
  onClose: () => void;
  children: ReactNode;
}): React.JSX.Element {
  const { t } = useI18n();
  const heading = useRef<HTMLHeadingElement>(null);
  const ready = !loading && !loadError;
  useEffect(() => {
    if (ready) heading.current?.focus();
  }, [ready]);

  if (loadError) return <LoadFailed message={loadError} onClose={onClose} />;
  if (loading) return <p role="status">{t('loading')}</p>;

  return (
    <form className="card rb-form" onSubmit={(e) => onSave('list', e)} noValidate aria-labelledby={titleId}>
      <div className="panel-head">
        <h3 id={titleId} ref={heading} tabIndex={-1}>
          {title}
        </h3>
        <button type="button" className="link" onClick={onClose}>
          {t('backToList')}
        </button>
      </div>
      {children}
      {formError && (
        <p className="form-error" role="alert">
          {formError}
        </p>
      )}
      {savedNotice && <p role="status">{savedNotice}</p>}
      {!readOnly && (
        <div className="actions rb-save">
          <button type="button" disabled={pending} onClick={() => onSave('another')}>
            {t('saveAndAdd')}
          </button>
          <button type="button" disabled={pending} onClick={() => onSave('continue')}>
            {t('saveAndContinue')}
          </button>
          <button type="submit" className="primary" disabled={pending} aria-busy={pending}>
            {pending && <span className="spinner" aria-hidden="true" />}
            {saveLabel}
          </button>
        </div>
      )}
    </form>
  );
}
