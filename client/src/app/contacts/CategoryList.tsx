import { useEffect, useState } from 'react';
import { useI18n } from '../i18n/i18n.js';
import type { Rights } from './Contacts.js';
import { deleteCategories, errorText, NO_CATEGORY_ID, type Category } from './contactsApi.js';
import { ConfirmDialog } from './Dialog.js';

/** Accents and case do not matter to the search ("societa" finds "Società"). */
export function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** "Scegli categoria da modificare": the list with its search, bulk delete and "AGGIUNGI CATEGORIA +". */
export function CategoryList({
  categories,
  rights,
  onChanged,
  focusId,
  onOpen,
}: {
  categories: Category[];
  rights: Rights;
  onChanged: () => void;
  /** The element to focus when the list is shown again (what opened the form the user comes back from). */
  focusId?: string | undefined;
  onOpen: (id?: string) => void;
}): React.JSX.Element {
  const { t } = useI18n();
  const [query, setQuery] = useState('');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  // Once, when the list comes back: later changes of the opener are for the next return.
  const [returnTo] = useState(focusId);
  useEffect(() => {
    if (returnTo) (document.getElementById(returnTo) ?? document.getElementById('rb-cat-q'))?.focus();
  }, [returnTo]);
  const nameOf = (c: Category): string => (c.id === NO_CATEGORY_ID ? t('noCategory') : c.name);
  const shown = categories.filter((c) => fold(nameOf(c)).includes(fold(query.trim())));
  // "No category" is built in and stays; others only for whoever may change them.
  const deletable = (c: Category): boolean => c.canEdit && !c.builtIn;
  const picked = categories.filter((c) => selected.has(c.id));
  const moved = picked.reduce((n, c) => n + c.contactCount, 0);
  const anyDeletable = categories.some(deletable);

  async function remove(): Promise<void> {
    setBusy(true);
    setError(undefined);
    try {
      await deleteCategories([...selected]);
      setSelected(new Set());
      onChanged();
      // The delete button is disabled now that nothing is selected: the focus goes on to the search.
      document.getElementById('rb-cat-q')?.focus();
    } catch (err) {
      setError(errorText(err, t('genericError')));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="rb-categories" aria-labelledby="rb-categories-title">
      <div className="section-head">
        <h3 id="rb-categories-title">{t('categoriesTitle')}</h3>
        {rights.admin && (
          <button className="primary" id="rb-add-category" onClick={() => onOpen()}>
            {t('addCategory')} +
          </button>
        )}
      </div>
      <div className="rb-filters">
        <div className="field rb-search">
          <label htmlFor="rb-cat-q">{t('search')}</label>
          <input
            id="rb-cat-q"
            type="search"
            value={query}
            autoComplete="off"
            onChange={(e) => setQuery(e.target.value)}
          />
        </div>
      </div>
      {anyDeletable && (
        <div className="rb-actions">
          <button
            type="button"
            className="danger"
            id="rb-delete-categories"
            disabled={selected.size === 0 || busy}
            aria-busy={busy}
            onClick={() => setConfirming(true)}
          >
            {t('deleteCategories')}
          </button>
          <span className="muted" aria-live="polite">
            {t('cSelectedCount', { n: selected.size, total: categories.length })}
          </span>
        </div>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <table className="rb-table">
        <thead>
          <tr>
            {anyDeletable && (
              <th scope="col" className="rb-check">
                <input
                  type="checkbox"
                  aria-label={t('selectAllCategories')}
                  checked={shown.some(deletable) && shown.filter(deletable).every((c) => selected.has(c.id))}
                  onChange={(e) =>
                    setSelected(new Set(e.target.checked ? shown.filter(deletable).map((c) => c.id) : []))
                  }
                />
              </th>
            )}
            <th scope="col">{t('categoryName').toUpperCase()}</th>
            <th scope="col">{t('contactsTitle').toUpperCase()}</th>
          </tr>
        </thead>
        <tbody>
          {shown.length === 0 && (
            <tr>
              <td colSpan={3} className="muted">
                {t('noCategories')}
              </td>
            </tr>
          )}
          {shown.map((c) => (
            <tr key={c.id} data-category-id={c.id}>
              {anyDeletable && (
                <td className="rb-check">
                  {deletable(c) && (
                    <input
                      type="checkbox"
                      aria-label={t('selectCategory', { name: nameOf(c) })}
                      checked={selected.has(c.id)}
                      onChange={(e) => {
                        const next = new Set(selected);
                        if (e.target.checked) next.add(c.id);
                        else next.delete(c.id);
                        setSelected(next);
                      }}
                    />
                  )}
                </td>
              )}
              <td data-label={t('categoryName')}>
                {c.canEdit && !c.builtIn ? (
                  <button
                    type="button"
                    id={`rb-open-category-${c.id}`}
                    className="link rb-open"
                    onClick={() => onOpen(c.id)}
                  >
                    {nameOf(c)}
                  </button>
                ) : (
                  nameOf(c)
                )}
              </td>
              <td data-label={t('contactsTitle')}>{c.contactCount}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">{t('categoriesCount', { n: shown.length })}</p>
      {confirming && (
        <ConfirmDialog
          title={t('deleteCategories')}
          message={`${t('deleteCategoriesConfirm', { n: picked.length })} (${t('contactsCount', { n: moved })})`}
          confirmLabel={t('deleteCategories')}
          onAnswer={(yes) => {
            setConfirming(false);
            if (yes) void remove();
          }}
        />
      )}
    </section>
  );
}
