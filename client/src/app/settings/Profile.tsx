import { useState, type FormEvent } from 'react';
import { api, ApiError, type Profile as ProfileData } from '../api/api.js';
import { TextField } from '../ui/forms.js';
import { useI18n } from '../i18n/i18n.js';

const MIN_LENGTH = 8;

/** "Il tuo profilo": who the user is in the directory, and a password change (other sessions are signed out). */
export function Profile({ profile }: { profile: ProfileData }): React.JSX.Element {
  const { t } = useI18n();
  return (
    <>
      <dl className="profile-data">
        <dt>{t('username')}</dt>
        <dd>{profile.displayName}</dd>
        <dt>{t('extension')}</dt>
        <dd>{profile.extension}</dd>
        {profile.email && (
          <>
            <dt>{t('email')}</dt>
            <dd>{profile.email}</dd>
          </>
        )}
        <dt>{t('plan')}</dt>
        <dd>{profile.plan.toUpperCase()}</dd>
      </dl>
      <ChangePassword />
    </>
  );
}

function ChangePassword(): React.JSX.Element {
  const { t } = useI18n();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [errors, setErrors] = useState<{ current?: string; next?: string; form?: string }>({});
  const [pending, setPending] = useState(false);
  const [done, setDone] = useState(false);

  async function submit(event: FormEvent): Promise<void> {
    event.preventDefault();
    const found: typeof errors = {};
    if (!current) found.current = t('required');
    if (next.length < MIN_LENGTH) found.next = t('passwordTooShort', { n: MIN_LENGTH });
    setErrors(found);
    setDone(false);
    if (Object.keys(found).length > 0) return;
    setPending(true);
    try {
      await api('POST', '/api/auth/password', { currentPassword: current, newPassword: next });
      setCurrent('');
      setNext('');
      setDone(true);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'VALIDATION_FAILED') {
        const onCurrent = err.details.some((d) => d.path === 'currentPassword');
        const onNext = err.details.find((d) => d.path === 'newPassword');
        setErrors({
          ...(onCurrent ? { current: t('wrongPassword') } : {}),
          ...(onNext ? { next: onNext.message } : {}),
        });
      } else if (err instanceof ApiError && err.status === 429) setErrors({ form: t('rateLimited') });
      else setErrors({ form: t('genericError') });
    } finally {
      setPending(false);
    }
  }

  return (
    <form
      className="change-password"
      onSubmit={(e) => void submit(e)}
      noValidate
      aria-labelledby="password-title"
    >
      <h3 id="password-title">{t('changePassword')}</h3>
      <TextField
        id="current-password"
        label={t('currentPassword')}
        type="password"
        autoComplete="current-password"
        value={current}
        error={errors.current}
        onValue={setCurrent}
      />
      <TextField
        id="changed-password"
        label={t('newPassword')}
        type="password"
        autoComplete="new-password"
        value={next}
        error={errors.next}
        onValue={setNext}
      />
      {errors.form && (
        <p className="form-error" role="alert">
          {errors.form}
        </p>
      )}
      {done && <p role="status">{t('passwordChanged')}</p>}
      <button type="submit" className="primary" disabled={pending} aria-busy={pending}>
        {pending && <span className="spinner" aria-hidden="true" />}
        {t('changePassword')}
      </button>
    </form>
  );
}
