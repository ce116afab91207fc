import { useEffect, useRef, type ReactNode } from 'react';
import { useI18n } from '../i18n/i18n.js';

/**
 * A modal <dialog>: the browser traps the focus inside and Escape closes it. On close the focus goes back to
 * what had it before (the button that opened it), as the ARIA dialog pattern asks.
 */
export function Dialog({
  title,
  onClose,
  children,
  className,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  className?: string;
}): React.JSX.Element {
  const { t } = useI18n();
  const ref = useRef<HTMLDialogElement>(null);
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : undefined;
    const dialog = ref.current;
    dialog?.showModal();
    const cancel = (e: Event): void => {
      // Escape: we close through React state, so the element is not left closed while still rendered.
      e.preventDefault();
      close.current();
    };
    dialog?.addEventListener('cancel', cancel);
    return () => {
      dialog?.removeEventListener('cancel', cancel);
      dialog?.close();
      // The opener may have gone with a re-render: then its stand-in by id, else nothing to do.
      if (opener?.isConnected) opener.focus();
      else if (opener?.id) document.getElementById(opener.id)?.focus();
    };
  }, []);
  return (
    <dialog ref={ref} className={`rb-dialog card ${className ?? ''}`} aria-labelledby="rb-dialog-title">
      <div className="panel-head">
        <h2 id="rb-dialog-title">{title}</h2>
        <button type="button" className="link" onClick={onClose}>
          {t('close')}
        </button>
      </div>
      {children}
    </dialog>
  );
}

/** Saves a Blob as a file through a temporary link (the download keeps its name). */
export function saveBlob(blob: Blob, filename: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** A yes/no question in a modal, in place of window.confirm (styled, translated buttons, focus given back). */
export function ConfirmDialog({
  title,
  message,
  confirmLabel,
  onAnswer,
}: {
  title: string;
  message: string;
  confirmLabel: string;
  onAnswer: (yes: boolean) => void;
}): React.JSX.Element {
  const { t } = useI18n();
  return (
    <Dialog title={title} onClose={() => onAnswer(false)} className="rb-confirm">
      <p>{message}</p>
      <div className="actions">
        <button type="button" className="danger" onClick={() => onAnswer(true)}>
          {confirmLabel}
        </button>
        <button type="button" autoFocus onClick={() => onAnswer(false)}>
          {t('cancel')}
        </button>
      </div>
    </Dialog>
  );
}

/** A form whose contact or category could not be loaded: the reason, and the way back to the list. */
export function LoadFailed({
  message,
  onClose,
}: {
  message: string;
  onClose: () => void;
}): React.JSX.Element {
  const { t } = useI18n();
  return (
    <div className="card">
      <p className="form-error" role="alert">
        {message}
      </p>
      <button onClick={onClose}>{t('backToList')}</button>
    </div>
  );
}
