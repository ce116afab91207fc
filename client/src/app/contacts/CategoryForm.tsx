import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError } from '../api/api.js';
import { TextField, Toggle } from '../ui/forms.js';
import { useI18n } from '../i18n/i18n.js';
import { useDirectorySearch } from '../api/useDirectorySearch.js';
import { RubricaForm, type SaveNext } from './RubricaForm.js';
import type { AfterSave } from './Contacts.js';
import {
  createCategory,
  errorText,
  getCategory,
  updateCategory,
  type Category,
  type Membership,
} from './contactsApi.js';

/** "Aggiungi categoria": Nome, the public flag and the memberships (users picked from the directory). */
export function CategoryForm({
  id,
  onSaved,
  onClose,
}: {
  id?: string | undefined;
  onSaved: (next: AfterSave<'category'>) => void;
  onClose: () => void;
}): React.JSX.Element {
  const { t } = useI18n();
  const [category, setCategory] = useState<Category | undefined>();
  const [loadError, setLoadError] = useState<string | undefined>();
  const [name, setName] = useState('');
  const [isPublic, setPublic] = useState(false);
  const [members, setMembers] = useState<Membership[]>([]);
  const [query, setQuery] = useState('');
  const { results } = useDirectorySearch(query);
  const [errors, setErrors] = useState<{ name?: string; memberships?: string; form?: string }>({});
  const [pending, setPending] = useState(false);
  const [saved, setSaved] = useState(false);
  const search = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (!id) return;
    getCategory(id).then(
      (c) => {
        setCategory(c);
        setName(c.name);
        setPublic(c.public);
        setMembers(c.memberships);
      },
      (err: unknown) => setLoadError(errorText(err, t('genericError'))),
    );
  }, [id, t]);

  const setMember = (userId: string, patch: Partial<Membership>): void =>
    setMembers(members.map((m) => (m.userId === userId ? { ...m, ...patch } : m)));

  async function save(next: SaveNext, event?: FormEvent): Promise<void> {
    event?.preventDefault();
    setSaved(false);
    if (!name.trim()) {
      setErrors({ name: t('required') });
      return;
    }
    setErrors({});
    setPending(true);
    const body = {
      name: name.trim(),
      public: isPublic,
      memberships: members.map((m) => ({
        userId: m.userId,
        editContacts: m.editContacts,
        editCategories: m.editCategories,
      })),
    };
    try {
      const c = category ? await updateCategory(category.id, body) : await createCategory(body);
      if (next === 'list') onSaved({ kind: 'categories' });
      else if (next === 'another') onSaved({ kind: 'category' });
      else {
        onSaved({ kind: 'category', id: c.id });
        setCategory(c);
        setMembers(c.memberships);
        setSaved(true);
      }
    } catch (err) {
      const out: typeof errors = {};
      if (err instanceof ApiError && err.code === 'VALIDATION_FAILED')
        for (const d of err.details) {
          if (d.path === 'name') out.name = d.message;
          else if (d.path.startsWith('memberships')) out.memberships = d.message;
        }
      if (Object.keys(out).length === 0) out.form = errorText(err, t('genericError'));
      setErrors(out);
    } finally {
      setPending(false);
    }
  }

  return (
    <RubricaForm
      titleId="rb-cat-title"
      title={category ? t('editCategory') : t('addCategoryTitle')}
      loading={id !== undefined && !category}
      loadError={loadError}
      pending={pending}
      formError={errors.form}
      savedNotice={saved ? t('savedCategory') : undefined}
      saveLabel={t('saveCategory')}
      onSave={(next, e) => void save(next, e)}
      onClose={onClose}
    >
      <fieldset disabled={pending} className="rb-fields">
        <TextField
          id="rb-cat-name"
          label={t('categoryName')}
          value={name}
          maxLength={100}
          error={errors.name}
          onValue={setName}
        />
        <Toggle id="rb-cat-public" label={t('categoryPublic')} checked={isPublic} onChange={setPublic} />
        <fieldset className="rb-members">
          <legend>{t('memberships').toUpperCase()}</legend>
          {members.length > 0 && (
            <table className="rb-table">
              <thead>
                <tr>
                  <th scope="col">{t('membershipUser').toUpperCase()}</th>
                  <th scope="col">{t('membershipEditContacts').toUpperCase()}</th>
                  <th scope="col">{t('membershipEditCategories').toUpperCase()}</th>
                  <th scope="col">
                    <span className="visually-hidden">{t('remove')}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {members.map((m) => (
                  <tr key={m.userId} data-user-id={m.userId}>
                    <td data-label={t('membershipUser')}>
                      {m.displayName} <span className="muted">({m.extension})</span>
                    </td>
                    <td data-label={t('membershipEditContacts')}>
                      <input
                        type="checkbox"
                        aria-label={`${t('membershipEditContacts')}: ${m.displayName}`}
                        checked={m.editContacts}
                        onChange={(e) => setMember(m.userId, { editContacts: e.target.checked })}
                      />
                    </td>
                    <td data-label={t('membershipEditCategories')}>
                      <input
                        type="checkbox"
                        aria-label={`${t('membershipEditCategories')}: ${m.displayName}`}
                        checked={m.editCategories}
                        onChange={(e) => setMember(m.userId, { editCategories: e.target.checked })}
                      />
                    </td>
                    <td>
                      <button
                        type="button"
                        className="link"
                        aria-label={t('membershipRemove', { name: m.displayName })}
                        onClick={() => {
                          setMembers(members.filter((x) => x.userId !== m.userId));
                          search.current?.focus();
                        }}
                      >
                        ×
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {errors.memberships && (
            <p className="field-error" role="alert">
              {errors.memberships}
            </p>
          )}
          <div className="field">
            <label htmlFor="rb-cat-member">{t('addMember')}</label>
            <input
              id="rb-cat-member"
              ref={search}
              type="search"
              placeholder={t('searchUsers')}
              value={query}
              autoComplete="off"
              onChange={(e) => setQuery(e.target.value)}
            />
            {query.trim() && (
              <ul className="results" aria-label={t('addMember')}>
                {results.length === 0 ? (
                  <li className="muted">{t('noResults')}</li>
                ) : (
                  results.map((u) => (
                    <li key={u.id}>
                      <button
                        type="button"
                        className="result"
                        disabled={members.some((m) => m.userId === u.id)}
                        onClick={() => {
                          setMembers([
                            ...members,
                            {
                              userId: u.id,
                              displayName: u.displayName,
                              extension: u.extension,
                              editContacts: false,
                              editCategories: false,
                            },
                          ]);
                          setQuery('');
                          search.current?.focus();
                        }}
                      >
                        {u.displayName} <span className="muted">({u.extension})</span>
                      </button>
                    </li>
                  ))
                )}
              </ul>
            )}
          </div>
        </fieldset>
      </fieldset>
    </RubricaForm>
  );
}
