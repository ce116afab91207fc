import { useState, type FormEvent } from 'react';
import { ApiError, login, recover } from '../api/api.js';
import { TextField } from '../ui/forms.js';
import { useI18n, type MessageKey } from '../i18n/i18n.js';

/** A message key of the dictionary, or a server message shown as it is. */
type FieldErrors = Partial<Record<'extension' | 'password' | 'form', string>>;

/**
 * "Autenticazione": Nome utente (the extension), Password, "Accedi" and "Recupera password". `sessionEnded`: the
 * server ended the previous session (signed out elsewhere, password changed, account disabled): say so.
 */
export function Login({
  onSignedIn,
  sessionEnded = false,
}: {
  onSignedIn: () => void;
  sessionEnded?: boolean;
}): React.JSX.Element {
  const { t } = useI18n();
  const [extension, setExtension] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [pending, setPending] = useState(false);
  const [mode, setMode] = useState<'login' | 'recover' | 'recovered'>('login');

  const message = (value: string | undefined): string | undefined =>
    value === undefined ? undefined : value in MESSAGE_KEYS ? t(value as MessageKey) : value;

  async function submit(event: FormEvent): Promise<void> {
    event.preventDefault();
    const next: FieldErrors = {};
    if (!extension.trim()) next.extension = 'required';
    if (mode === 'login' && !password) next.password = 'required';
    setErrors(next);
    if (Object.keys(next).length > 0) return;
    setPending(true);
    try {
      if (mode === 'recover') {
        await recover(extension.trim());
        setMode('recovered');
      } else {
        await login(extension.trim(), password);
        onSignedIn();
      }
    } catch (err) {
      setErrors(loginErrors(err));
    } finally {
      setPending(false);
    }
  }

  return (
    <main className="login">
      <h1 className="brand">{t('brand')}</h1>
      <form className="card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="login-title">
        <h2 id="login-title">{mode === 'login' ? t('loginTitle') : t('recoverPassword')}</h2>
        {sessionEnded && mode === 'login' && <p role="status">{t('sessionEndedHint')}</p>}
        {mode === 'recovered' ? (
          <p role="status">{t('recoverDone')}</p>
        ) : (
          <>
            <TextField
              id="extension"
              name="extension"
              label={t('username')}
              hint={t('usernameHint')}
              autoComplete="username"
              inputMode="numeric"
              value={extension}
              error={message(errors.extension)}
              onValue={setExtension}
            />
            {mode === 'login' && (
              <TextField
                id="password"
                name="password"
                label={t('password')}
                type="password"
                autoComplete="current-password"
                value={password}
                error={message(errors.password)}
                onValue={setPassword}
              />
            )}
            {errors.form && (
              <p className="form-error" role="alert">
                {message(errors.form)}
              </p>
            )}
            <button type="submit" className="primary" disabled={pending} aria-busy={pending}>
              {pending && <span className="spinner" aria-hidden="true" />}
              {mode === 'login' ? t('login') : t('recoverSend')}
            </button>
          </>
        )}
        <button
          type="button"
          className="link"
          onClick={() => {
            setErrors({});
            setMode(mode === 'login' ? 'recover' : 'login');
          }}
        >
          {mode === 'login' ? t('recoverPassword') : t('backToLogin')}
        </button>
      </form>
    </main>
  );
}

const MESSAGE_KEYS: Record<string, true> = {
  required: true,
  invalidCredentials: true,
  rateLimited: true,
  genericError: true,
};

function loginErrors(err: unknown): FieldErrors {
  if (!(err instanceof ApiError)) return { form: 'genericError' };
  if (err.code === 'INVALID_CREDENTIALS') return { password: 'invalidCredentials' };
  if (err.code === 'RATE_LIMITED') return { form: 'rateLimited' };
  if (err.code === 'VALIDATION_FAILED') {
    const out: FieldErrors = {};
    for (const d of err.details) {
      if (d.path === 'extension' || d.path === 'password') out[d.path] = d.message;
    }
    return Object.keys(out).length > 0 ? out : { form: err.message };
  }
  return { form: 'genericError' };
}
