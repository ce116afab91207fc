import { useState, type FormEvent } from 'react';
import type { ChatRoomView } from '../../../../shared/schemas/chat.js';
import { api, ApiError } from '../api/api.js';
import { TextAreaField, TextField } from '../ui/forms.js';
import { useI18n } from '../i18n/i18n.js';
import { useDirectorySearch } from '../api/useDirectorySearch.js';

/** A group's details: name and description, members (add, remove) and "Esci dal gruppo". */
export function GroupInfo({
  room,
  myId,
  onLeft,
}: {
  room: ChatRoomView;
  myId: string;
  onLeft: () => void;
}): React.JSX.Element {
  const { t } = useI18n();
  const path = `/api/chat/rooms/${encodeURIComponent(room.roomId)}`;
  const [name, setName] = useState(room.name);
  const [topic, setTopic] = useState(room.topic ?? '');
  const [nameError, setNameError] = useState<string | undefined>();
  const [query, setQuery] = useState('');
  const { results } = useDirectorySearch(query);
  const [pending, setPending] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [saved, setSaved] = useState(false);

  /** One change at a time, its button busy meanwhile; the room comes back through `chat.room`. */
  const run = (key: string, call: () => Promise<unknown>, then?: () => void): void => {
    setPending(key);
    setError(undefined);
    setSaved(false);
    call()
      .then(then)
      .catch((err: unknown) =>
        setError(
          err instanceof ApiError && err.code === 'CHAT_UNAVAILABLE'
            ? t('chatUnavailable')
            : t('genericError'),
        ),
      )
      .finally(() => setPending(undefined));
  };

  const save = (event: FormEvent): void => {
    event.preventDefault();
    if (!name.trim()) {
      setNameError(t('required'));
      return;
    }
    setNameError(undefined);
    run(
      'save',
      () => api('PATCH', path, { name: name.trim(), description: topic.trim() }),
      () => setSaved(true),
    );
  };

  const memberIds = new Set(room.members.map((m) => m.userId));
  const candidates = results.filter((u) => !memberIds.has(u.id));
  return (
    <section className="group-info" aria-labelledby="group-info-title">
      <h3 id="group-info-title">{t('groupInfo')}</h3>
      <form onSubmit={save} noValidate>
        <TextField
          id="group-rename"
          label={t('groupName')}
          maxLength={100}
          value={name}
          error={nameError}
          onValue={setName}
        />
        <TextAreaField
          id="group-topic"
          label={t('groupDescription')}
          rows={2}
          maxLength={1000}
          value={topic}
          onValue={setTopic}
        />
        <button type="submit" disabled={pending === 'save'} aria-busy={pending === 'save'}>
          {t('save')}
        </button>
        {saved && (
          <span role="status" className="muted">
            {' '}
            {t('saved')}
          </span>
        )}
      </form>

      <h4>{t('membersCount', { n: room.members.length })}</h4>
      <ul className="people">
        {room.members.map((m) => (
          <li key={m.mxid} className="person">
            <span className="grow">
              {m.displayName} {m.userId === myId && <span className="muted">({t('you')})</span>}
            </span>
            {m.userId && m.userId !== myId && (
              <button
                className="link"
                disabled={pending === m.userId}
                aria-label={`${t('remove')} ${m.displayName}`}
                onClick={() => run(m.userId ?? '', () => api('DELETE', `${path}/members/${m.userId ?? ''}`))}
              >
                {t('remove')}
              </button>
            )}
          </li>
        ))}
      </ul>

      <div className="field">
        <label htmlFor="group-add">{t('addMembers')}</label>
        <input
          id="group-add"
          type="search"
          autoComplete="off"
          placeholder={t('searchColleagues')}
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
      </div>
      {query.trim() && (
        <ul className="results" aria-label={t('addMembers')}>
          {candidates.length === 0 ? (
            <li className="muted">{t('noResults')}</li>
          ) : (
            candidates.map((u) => (
              <li key={u.id}>
                <button
                  type="button"
                  className="result"
                  disabled={pending === u.id}
                  onClick={() =>
                    run(
                      u.id,
                      () => api('POST', `${path}/members`, { userIds: [u.id] }),
                      () => setQuery(''),
                    )
                  }
                >
                  {u.displayName} <span className="muted">({u.extension})</span>
                </button>
              </li>
            ))
          )}
        </ul>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <button
        className="danger"
        disabled={pending === 'leave'}
        aria-busy={pending === 'leave'}
        onClick={() => {
          if (window.confirm(t('leaveGroupConfirm', { name: room.name })))
            run('leave', () => api('POST', `${path}/leave`), onLeft);
        }}
      >
        {t('leaveGroup')}
      </button>
    </section>
  );
}
