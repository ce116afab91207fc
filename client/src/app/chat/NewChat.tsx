import { useState, type FormEvent } from 'react';
import type { ChatRoomView } from '../../../../shared/schemas/chat.js';
import { api, ApiError, type PublicUser } from '../api/api.js';
import { PeopleChips, TextAreaField, TextField } from '../ui/forms.js';
import { useI18n } from '../i18n/i18n.js';
import { useDirectorySearch } from '../api/useDirectorySearch.js';
import { useCallAction } from '../phone/callAction.js';
import { PresenceDot } from '../presence/PresenceDot.js';
import { usePresence } from '../presence/usePresence.js';

/**
 * A new conversation, as in the manual: search or pick colleagues; one colleague starts a 1:1 chat, more than one
 * shows "Inizia chat di gruppo", which asks for the group's name and an optional description.
 */
export function NewChat({
  myId,
  onOpened,
  onCancel,
}: {
  myId: string;
  onOpened: (room: ChatRoomView) => void;
  onCancel: () => void;
}): React.JSX.Element {
  const { t } = useI18n();
  const callAction = useCallAction();
  const [query, setQuery] = useState('');
  const { results, searching } = useDirectorySearch(query, 12);
  const [picked, setPicked] = useState<PublicUser[]>([]);
  const [naming, setNaming] = useState(false);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [nameError, setNameError] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [pending, setPending] = useState(false);

  const toggle = (user: PublicUser): void => {
    setPicked((list) =>
      list.some((u) => u.id === user.id) ? list.filter((u) => u.id !== user.id) : [...list, user],
    );
  };

  const run = async (call: () => Promise<ChatRoomView>): Promise<void> => {
    setPending(true);
    setError(undefined);
    try {
      onOpened(await call());
    } catch (err) {
      if (err instanceof ApiError && err.code === 'CHAT_UNAVAILABLE') setError(t('chatUnavailable'));
      else if (err instanceof ApiError && err.code === 'VALIDATION_FAILED' && err.details[0])
        setError(err.details[0].message);
      else setError(t('genericError'));
    } finally {
      setPending(false);
    }
  };

  const startDm = (): void => {
    const [user] = picked;
    if (user) void run(() => api<ChatRoomView>('POST', '/api/chat/dms', { userId: user.id }));
  };

  const createGroup = (event: FormEvent): void => {
    event.preventDefault();
    if (!name.trim()) {
      setNameError(t('required'));
      return;
    }
    setNameError(undefined);
    void run(() =>
      api<ChatRoomView>('POST', '/api/chat/rooms', {
        name: name.trim(),
        ...(description.trim() ? { description: description.trim() } : {}),
        memberIds: picked.map((u) => u.id),
      }),
    );
  };

  const candidates = results.filter((u) => u.id !== myId);
  const presenceOf = usePresence(candidates.map((u) => u.id));
  return (
    <section className="new-chat card" aria-labelledby="new-chat-title">
      <div className="panel-head">
        <h2 id="new-chat-title">{naming ? t('startGroupChat') : t('newChat')}</h2>
        <button className="link" onClick={onCancel} disabled={pending}>
          {t('cancel')}
        </button>
      </div>
      {!naming ? (
        <>
          <div className="field">
            <label htmlFor="chat-search">{t('selectColleagues')}</label>
            <input
              id="chat-search"
              type="search"
              autoFocus
              autoComplete="off"
              placeholder={t('searchColleagues')}
              value={query}
              onChange={(e) => setQuery(e.target.value)}
            />
          </div>
          {query.trim() && (
            <ul className="results" aria-label={t('selectColleagues')} aria-busy={searching}>
              {candidates.length === 0 && !searching ? (
                <li className="muted">{t('noResults')}</li>
              ) : (
                candidates.map((u) => {
                  const on = picked.some((p) => p.id === u.id);
                  return (
                    <li key={u.id} className="result-row">
                      <button type="button" className="result" aria-pressed={on} onClick={() => toggle(u)}>
                        <span className="check" aria-hidden="true">
                          {on ? '✓' : ''}
                        </span>
                        {u.displayName} <span className="muted">({u.extension})</span>
                        <PresenceDot state={presenceOf(u.id)} />
                      </button>
                      {callAction.available && (
                        <button
                          type="button"
                          className="call-button"
                          aria-label={t('callName', { name: u.displayName })}
                          onClick={() => callAction.call({ number: u.extension, name: u.displayName })}
                        >
                          <span aria-hidden="true">☎</span>
                        </button>
                      )}
                    </li>
                  );
                })
              )}
            </ul>
          )}
          <PeopleChips people={picked} label={t('selectedCount', { n: picked.length })} onRemove={toggle} />
          {error && (
            <p className="form-error" role="alert">
              {error}
            </p>
          )}
          <div className="actions">
            {picked.length === 1 && (
              <button className="primary" onClick={startDm} disabled={pending} aria-busy={pending}>
                {pending && <span className="spinner" aria-hidden="true" />}
                {t('startChat')}
              </button>
            )}
            {picked.length > 1 && (
              <button className="primary" onClick={() => setNaming(true)}>
                {t('startGroupChat')}
              </button>
            )}
          </div>
        </>
      ) : (
        <form onSubmit={createGroup} noValidate>
          <p className="muted">{picked.map((u) => u.displayName).join(', ')}</p>
          <TextField
            id="group-name"
            label={t('groupName')}
            autoFocus
            maxLength={100}
            value={name}
            error={nameError}
            onValue={setName}
          />
          <TextAreaField
            id="group-description"
            label={t('groupDescription')}
            rows={2}
            maxLength={1000}
            value={description}
            onValue={setDescription}
          />
          {error && (
            <p className="form-error" role="alert">
              {error}
            </p>
          )}
          <div className="actions">
            <button type="submit" className="primary" disabled={pending} aria-busy={pending}>
              {pending && <span className="spinner" aria-hidden="true" />}
              {t('createGroup')}
            </button>
            <button type="button" onClick={() => setNaming(false)} disabled={pending}>
              {t('back')}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
