import { useState, type FormEvent } from 'react';
import { ApiError, publicApi } from '../api/api.js';
import { TextField } from '../ui/forms.js';
import { useI18n } from '../i18n/i18n.js';

const MIN_LENGTH = 8;

/** /reset-password?token=…: the page the recovery mail links to; a new password twice, then back to the login. */
export function ResetPassword({ token, onDone }: { token: string; onDone: () => void }): React.JSX.Element {
  const { t } = useI18n();
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [errors, setErrors] = useState<{ password?: string; repeat?: string; form?: string }>({});
  const [pending, setPending] = useState(false);
  const [done, setDone] = useState(false);

  async function submit(event: FormEvent): Promise<void> {
    event.preventDefault();
    const next: typeof errors = {};
    if (password.length < MIN_LENGTH) next.password = t('passwordTooShort', { n: MIN_LENGTH });
    if (repeat !== password) next.repeat = t('passwordsDiffer');
    setErrors(next);
    if (Object.keys(next).length > 0) return;
    setPending(true);
    try {
      await publicApi('POST', '/api/auth/reset', { token, password });
      setDone(true);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'VALIDATION_FAILED') {
        const onPassword = err.details.find((d) => d.path === 'password');
        setErrors(onPassword ? { password: onPassword.message } : { form: t('resetLinkInvalid') });
      } else if (err instanceof ApiError && err.status === 429) setErrors({ form: t('rateLimited') });
      else setErrors({ form: t('genericError') });
    } finally {
      setPending(false);
    }
  }

  return (
    <main className="login">
      <h1 className="brand">{t('brand')}</h1>
      <form className="card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="reset-title">
        <h2 id="reset-title">{t('resetTitle')}</h2>
        {done ? (
          <>
            <p role="status">{t('resetDone')}</p>
            <button type="button" className="primary" onClick={onDone}>
              {t('backToLogin')}
            </button>
          </>
        ) : (
          <>
            <TextField
              id="reset-password"
              label={t('newPassword')}
              type="password"
              autoComplete="new-password"
              value={password}
              error={errors.password}
              onValue={setPassword}
            />
            <TextField
              id="reset-repeat"
              label={t('repeatPassword')}
              type="password"
              autoComplete="new-password"
              value={repeat}
              error={errors.repeat}
              onValue={setRepeat}
            />
            {errors.form && (
              <p className="form-error" role="alert">
                {errors.form}
              </p>
            )}
            <button type="submit" className="primary" disabled={pending} aria-busy={pending}>
              {pending && <span className="spinner" aria-hidden="true" />}
              {t('resetSubmit')}
            </button>
            <button type="button" className="link" onClick={onDone}>
              {t('backToLogin')}
            </button>
          </>
        )}
      </form>
    </main>
  );
}
