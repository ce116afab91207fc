/** Form pieces used on several screens, each with its label and its error tied to the control for screen readers. */
import type { InputHTMLAttributes, ReactNode, TextareaHTMLAttributes } from 'react';
import type { PublicUser } from '../api/api.js';
import { useI18n } from '../i18n/i18n.js';

/** A labelled input with an optional hint and an error shown next to it. */
export function TextField({
  id,
  label,
  error,
  hint,
  onValue,
  ...input
}: {
  id: string;
  label: ReactNode;
  error?: string | undefined;
  hint?: string;
  onValue: (value: string) => void;
} & Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'onChange'>): React.JSX.Element {
  const describedBy = error ? `${id}-error` : hint ? `${id}-hint` : undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        {...input}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
        onChange={(e) => onValue(e.target.value)}
      />
      {hint && <small id={`${id}-hint`}>{hint}</small>}
      {error && (
        <p className="field-error" id={`${id}-error`} role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** A labelled multi-line text, with an error shown next to it. */
export function TextAreaField({
  id,
  label,
  error,
  onValue,
  ...area
}: {
  id: string;
  label: ReactNode;
  error?: string | undefined;
  onValue: (value: string) => void;
} & Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, 'id' | 'onChange'>): React.JSX.Element {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        {...area}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        onChange={(e) => onValue(e.target.value)}
      />
      {error && (
        <p className="field-error" id={`${id}-error`} role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** A label with the manual's step number in front (1 Titolo, 2 Inizio, …). */
export function StepLabel({ n, children }: { n: number; children: ReactNode }): React.JSX.Element {
  return (
    <>
      <span className="step" aria-hidden="true">
        {n}
      </span>{' '}
      {children}
    </>
  );
}

/** A labelled checkbox. */
export function Toggle({
  id,
  label,
  checked,
  onChange,
}: {
  id: string;
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
}): React.JSX.Element {
  return (
    <div className="field checkbox">
      <input id={id} type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} />
      <label htmlFor={id}>{label}</label>
    </div>
  );
}

/** The colleagues picked so far, each with a button that takes them off the list. */
export function PeopleChips<P extends Pick<PublicUser, 'id' | 'displayName'>>({
  people,
  label,
  onRemove,
}: {
  people: P[];
  label: string;
  onRemove: (user: P) => void;
}): React.JSX.Element | null {
  const { t } = useI18n();
  if (people.length === 0) return null;
  return (
    <ul className="chips" aria-label={label}>
      {people.map((u) => (
        <li key={u.id} className="chip">
          {u.displayName}
          <button type="button" aria-label={`${t('remove')} ${u.displayName}`} onClick={() => onRemove(u)}>
            ×
          </button>
        </li>
      ))}
    </ul>
  );
}
