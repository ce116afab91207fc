import { useRef, type KeyboardEvent } from 'react';
import { useI18n } from '../i18n/i18n.js';
import type { Shown } from './messageList.js';

/** The message box: what it replies to or edits, the attachment button, the text and Send (Enter). */
export function Composer({
  text,
  onText,
  replyTo,
  editing,
  uploading,
  inputRef,
  onSubmit,
  onCancelContext,
  onFile,
  onBlur,
}: {
  text: string;
  onText: (text: string) => void;
  replyTo: Shown | undefined;
  editing: Shown | undefined;
  uploading: boolean;
  inputRef: React.RefObject<HTMLTextAreaElement | null>;
  onSubmit: () => void;
  /** Escape, or Cancel next to the reply or edit. */
  onCancelContext: () => void;
  onFile: (file: File) => void;
  onBlur: () => void;
}): React.JSX.Element {
  const { t } = useI18n();
  const fileRef = useRef<HTMLInputElement>(null);
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      onSubmit();
    } else if (e.key === 'Escape' && (editing || replyTo)) {
      onCancelContext();
    }
  };
  return (
    <>
      {(replyTo ?? editing) && (
        <div className="composer-context">
          <span className="grow">
            {editing ? t('editing') : t('replyingTo', { name: replyTo?.sender.displayName ?? '' })}:{' '}
            <span className="muted">{(editing ?? replyTo)?.body}</span>
          </span>
          <button className="link" onClick={onCancelContext}>
            {t('cancel')}
          </button>
        </div>
      )}
      <form
        className="composer"
        onSubmit={(e) => {
          e.preventDefault();
          onSubmit();
        }}
      >
        <input
          ref={fileRef}
          type="file"
          hidden
          aria-hidden="true"
          tabIndex={-1}
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) onFile(file);
            e.target.value = '';
          }}
        />
        <button
          type="button"
          className="icon"
          aria-label={t('attachFile')}
          title={t('attachFile')}
          disabled={uploading || !!editing}
          aria-busy={uploading}
          onClick={() => fileRef.current?.click()}
        >
          {uploading ? <span className="spinner" aria-hidden="true" /> : <PaperclipIcon />}
        </button>
        <label htmlFor="composer-input" className="visually-hidden">
          {t('chatMessage')}
        </label>
        <textarea
          id="composer-input"
          ref={inputRef}
          rows={1}
          maxLength={20_000}
          placeholder={t('chatMessage')}
          value={text}
          onChange={(e) => onText(e.target.value)}
          onKeyDown={onKeyDown}
          onBlur={onBlur}
        />
        <button type="submit" className="primary" disabled={!text.trim()}>
          {editing ? t('save') : t('send')}
        </button>
      </form>
    </>
  );
}

function PaperclipIcon(): React.JSX.Element {
  return (
    <svg
      viewBox="0 0 24 24"
      width="18"
      height="18"
      aria-hidden="true"
      fill="none"
      stroke="currentColor"
      strokeWidth="2"
    >
      <path
        d="M20 11.5l-8 8a5 5 0 0 1-7-7l8.5-8.5a3.5 3.5 0 0 1 5 5L10 17.5a2 2 0 0 1-3-3l7.5-7.5"
        strokeLinecap="round"
      />
    </svg>
  );
}
