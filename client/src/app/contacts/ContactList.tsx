import { useCallback, useEffect, useRef, useState } from 'react';
import { useI18n, type MessageKey } from '../i18n/i18n.js';
import { useCallAction } from '../phone/callAction.js';
import type { Rights } from './Contacts.js';
import {
  deleteContacts,
  errorText,
  EXPORT_MAX_IDS,
  exportContacts,
  FILE_NAMES,
  listContacts,
  NO_CATEGORY_ID,
  sampleCsv,
  type Category,
  type Contact,
  type ContactFileFormat,
  type ContactFilter,
} from './contactsApi.js';
import { ConfirmDialog, saveBlob } from './Dialog.js';
import { ImportDialog } from './ImportDialog.js';

const PAGE_SIZE = 25;

const COLUMNS = [
  ['lastName', 'cLastName'],
  ['firstName', 'cFirstName'],
  ['company', 'cCompany'],
  ['personal', 'cPersonal'],
  ['category', 'cCategory'],
] as const satisfies readonly (readonly [string, MessageKey])[];
type Column = (typeof COLUMNS)[number][0];

type Action = '' | 'delete' | ContactFileFormat;

/** The name a row is read out by: "Cognome Nome", or the company. */
export function contactName(c: Pick<Contact, 'lastName' | 'firstName' | 'company'>): string {
  return `${c.lastName} ${c.firstName}`.trim() || c.company;
}

/** "Scegli contatto da modificare": search, FILTRO, sortable columns, pages, selection and "Azione … Vai". */
export function ContactList({
  categories,
  rights,
  focusId,
  onOpen,
}: {
  categories: Category[];
  rights: Rights;
  /** The element to focus once the list is shown again (what opened the form the user comes back from). */
  focusId?: string | undefined;
  onOpen: (id?: string) => void;
}): React.JSX.Element {
  const { t } = useI18n();
  const callAction = useCallAction();
  const [query, setQuery] = useState('');
  const [filter, setFilter] = useState<ContactFilter>({ q: '' });
  const [sort, setSort] = useState<{ by: Column; desc: boolean }>({ by: 'lastName', desc: false });
  const [page, setPage] = useState(1);
  // `page`: the page these items are, which the pager shows (the one asked for may still be loading).
  const [data, setData] = useState<{ items: Contact[]; total: number; page: number } | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [selected, setSelected] = useState<Map<string, Contact>>(new Map());
  const [action, setAction] = useState<Action>('');
  const [busy, setBusy] = useState(false);
  const [importing, setImporting] = useState<ContactFileFormat | undefined>();
  const [confirming, setConfirming] = useState(false);

  const searched = useRef('');
  // The search box waits for a pause in the typing before asking the server.
  useEffect(() => {
    const timer = setTimeout(() => {
      if (query === searched.current) return;
      searched.current = query;
      setFilterPart({ q: query });
    }, 250);
    return () => clearTimeout(timer);
  }, [query]);

  const load = useCallback(() => {
    let live = true;
    listContacts({
      ...filter,
      sort: sort.desc ? (`-${sort.by}` as const) : sort.by,
      page,
      pageSize: PAGE_SIZE,
    }).then(
      (r) => {
        if (!live) return;
        setData({ items: r.items, total: r.total, page });
        setError(undefined);
      },
      (err: unknown) => {
        if (live) setError(errorText(err, t('genericError')));
      },
    );
    return () => {
      live = false;
    };
  }, [filter, sort, page, t]);
  useEffect(load, [load]);

  const focused = useRef(false);
  useEffect(() => {
    if (!data || focused.current || !focusId) return;
    focused.current = true;
    (document.getElementById(focusId) ?? document.getElementById('rb-q'))?.focus();
  }, [data, focusId]);

  const pages = Math.max(1, Math.ceil((data?.total ?? 0) / PAGE_SIZE));
  const items = data?.items ?? [];
  const allOnPage = items.length > 0 && items.every((c) => selected.has(c.id));
  const toggle = (c: Contact, on: boolean): void => {
    const next = new Map(selected);
    if (on) next.set(c.id, c);
    else next.delete(c.id);
    setSelected(next);
  };
  const setFilterPart = (patch: Partial<ContactFilter>): void => {
    setFilter((f) => ({ ...f, ...patch }));
    setPage(1);
    // A selection hidden by the new filter would be deleted or exported unseen.
    setSelected(new Map());
  };
  const categoryLabel = (c: Contact): string => (c.categoryId === null ? t('noCategory') : c.categoryName);
  // Deleting is offered only when every selected contact is one the caller may change.
  const canDelete = selected.size > 0 && [...selected.values()].every((c) => c.canEdit);

  // A selection changed after picking "delete" may no longer allow it: then nothing is picked.
  const chosen: Action = action === 'delete' && !canDelete ? '' : action;

  async function run(confirmed = false): Promise<void> {
    const action = chosen;
    if (!action) return;
    if (action === 'delete' && !confirmed) {
      setConfirming(true);
      return;
    }
    if (action !== 'delete' && selected.size > EXPORT_MAX_IDS) {
      setError(t('exportTooMany', { max: EXPORT_MAX_IDS }));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      if (action === 'delete') {
        await deleteContacts([...selected.keys()]);
        setSelected(new Map());
        load();
        // "Vai" is disabled once the action is reset: the focus goes on to the search.
        document.getElementById('rb-q')?.focus();
      } else {
        saveBlob(await exportContacts(action, [...selected.keys()], filter), FILE_NAMES[action]);
      }
      setAction('');
    } catch (err) {
      setError(errorText(err, t('genericError')));
    } finally {
      setBusy(false);
    }
  }

  const downloadSample = (): void => {
    sampleCsv().then(
      (blob) => saveBlob(blob, 'esempio-contatti.csv'),
      (err: unknown) => setError(errorText(err, t('genericError'))),
    );
  };

  return (
    <section className="rb-contacts" aria-labelledby="rb-contacts-title">
      <div className="section-head">
        <h3 id="rb-contacts-title">{t('contactsTitle')}</h3>
        <div className="rb-toolbar">
          {(['outlook', 'vcard', 'csv'] as const).map((format) => (
            <button key={format} id={`rb-import-${format}`} onClick={() => setImporting(format)}>
              {t(format === 'outlook' ? 'uploadOutlook' : format === 'vcard' ? 'uploadVcard' : 'uploadCsv')}
            </button>
          ))}
          <button onClick={downloadSample}>{t('sampleCsv')}</button>
          <button className="primary" id="rb-add-contact" onClick={() => onOpen()}>
            {t('addContact')} +
          </button>
        </div>
      </div>
      {!rights.canEditShared && (
        <p className="muted" data-testid="rb-read-only">
          {t('readOnlyNotice')}
        </p>
      )}
      <div className="rb-filters">
        <div className="field rb-search">
          <label htmlFor="rb-q">{t('search')}</label>
          <input
            id="rb-q"
            type="search"
            value={query}
            placeholder={t('searchContacts')}
            autoComplete="off"
            onChange={(e) => setQuery(e.target.value)}
          />
        </div>
        <fieldset className="rb-filter">
          <legend>{t('filter')}</legend>
          <div className="field">
            <label htmlFor="rb-filter-category">{t('filterCategory')}</label>
            <select
              id="rb-filter-category"
              value={filter.category ?? ''}
              onChange={(e) => setFilterPart({ category: e.target.value || undefined })}
            >
              <option value="">{t('filterAll')}</option>
              {categories.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.id === NO_CATEGORY_ID ? t('noCategory') : c.name}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="rb-filter-personal">{t('filterPersonal')}</label>
            <select
              id="rb-filter-personal"
              value={filter.personal === undefined ? '' : filter.personal ? '1' : '0'}
              onChange={(e) =>
                setFilterPart({ personal: e.target.value === '' ? undefined : e.target.value === '1' })
              }
            >
              <option value="">{t('filterAll')}</option>
              <option value="1">{t('filterPersonalOnly')}</option>
              <option value="0">{t('filterSharedOnly')}</option>
            </select>
          </div>
        </fieldset>
      </div>
      <form
        className="rb-actions"
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <label htmlFor="rb-action">{t('action')}</label>
        <select id="rb-action" value={chosen} onChange={(e) => setAction(e.target.value as Action)}>
          <option value="">-----</option>
          {canDelete && <option value="delete">{t('deleteSelected')}</option>}
          <option value="vcard">{t('exportVcard')}</option>
          <option value="outlook">{t('exportOutlook')}</option>
          <option value="csv">{t('exportCsv')}</option>
        </select>
        <button type="submit" disabled={!chosen || busy} aria-busy={busy}>
          {t('go')}
        </button>
        <span className="muted" aria-live="polite">
          {t('cSelectedCount', { n: selected.size, total: data?.total ?? 0 })}
        </span>
        {chosen && chosen !== 'delete' && selected.size === 0 && (
          <small className="muted">{t('exportAllHint')}</small>
        )}
      </form>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {!data ? (
        !error && <p role="status">{t('loading')}</p>
      ) : (
        <>
          <table className="rb-table">
            <thead>
              <tr>
                <th scope="col" className="rb-check">
                  <input
                    type="checkbox"
                    aria-label={t('selectAll')}
                    checked={allOnPage}
                    disabled={items.length === 0}
                    onChange={(e) => {
                      const next = new Map(selected);
                      for (const c of items) {
                        if (e.target.checked) next.set(c.id, c);
                        else next.delete(c.id);
                      }
                      setSelected(next);
                    }}
                  />
                </th>
                {COLUMNS.map(([column, label]) => (
                  <th
                    key={column}
                    scope="col"
                    aria-sort={sort.by === column ? (sort.desc ? 'descending' : 'ascending') : undefined}
                  >
                    <button
                      type="button"
                      className="rb-sort"
                      onClick={() => {
                        setSort({ by: column, desc: sort.by === column && !sort.desc });
                        setPage(1);
                      }}
                    >
                      {t(label).toUpperCase()}
                      <span aria-hidden="true">{sort.by === column ? (sort.desc ? ' ▼' : ' ▲') : ''}</span>
                    </button>
                  </th>
                ))}
                {callAction.available && <th scope="col">{t('cNumbers').toUpperCase()}</th>}
              </tr>
            </thead>
            <tbody>
              {items.length === 0 && (
                <tr>
                  <td colSpan={callAction.available ? 7 : 6} className="muted">
                    {t('noContacts')}
                  </td>
                </tr>
              )}
              {items.map((c) => (
                <tr key={c.id} data-contact-id={c.id}>
                  <td className="rb-check">
                    <input
                      type="checkbox"
                      aria-label={t('selectRow', { name: contactName(c) })}
                      checked={selected.has(c.id)}
                      onChange={(e) => toggle(c, e.target.checked)}
                    />
                  </td>
                  <td data-label={t('cLastName')}>
                    <button
                      type="button"
                      id={`rb-open-contact-${c.id}`}
                      className="link rb-open"
                      onClick={() => onOpen(c.id)}
                    >
                      {c.lastName || contactName(c)}
                    </button>
                  </td>
                  <td data-label={t('cFirstName')}>{c.firstName}</td>
                  <td data-label={t('cCompany')}>{c.company}</td>
                  <td data-label={t('cPersonal')}>
                    <span className={c.personal ? 'rb-yes' : 'rb-no'}>
                      <span aria-hidden="true">{c.personal ? '✔' : '✘'}</span>
                      <span className="visually-hidden">{c.personal ? t('rbYes') : t('rbNo')}</span>
                    </span>
                  </td>
                  <td data-label={t('cCategory')}>{categoryLabel(c)}</td>
                  {callAction.available && (
                    <td data-label={t('cNumbers')}>
                      <span className="rb-call">
                        {c.numbers.map((n, i) => (
                          <button
                            key={i}
                            type="button"
                            className="call-button"
                            aria-label={t('callNumberOf', { name: contactName(c), number: n.number })}
                            onClick={() => callAction.call({ number: n.normalized, name: contactName(c) })}
                          >
                            <span aria-hidden="true">☎</span> {n.number}
                          </button>
                        ))}
                      </span>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
          <nav className="rb-pages" aria-label={t('pagination')}>
            <span className="muted">{t('contactsCount', { n: data.total })}</span>
            <button disabled={page <= 1} onClick={() => setPage(page - 1)} aria-label={t('prevPage')}>
              ‹
            </button>
            <span>{t('pageOf', { page: data.page, pages })}</span>
            <button disabled={page >= pages} onClick={() => setPage(page + 1)} aria-label={t('nextPage')}>
              ›
            </button>
          </nav>
        </>
      )}
      {confirming && (
        <ConfirmDialog
          title={t('deleteSelected')}
          message={t('deleteSelectedConfirm', { n: selected.size })}
          confirmLabel={t('deleteSelected')}
          onAnswer={(yes) => {
            setConfirming(false);
            if (yes) void run(true);
          }}
        />
      )}
      {importing && (
        <ImportDialog
          format={importing}
          rights={rights}
          onClose={(changed) => {
            setImporting(undefined);
            if (changed) load();
          }}
        />
      )}
    </section>
  );
}
