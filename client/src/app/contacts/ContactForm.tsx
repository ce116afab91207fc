import { useEffect, useState, type FormEvent } from 'react';
import { ApiError } from '../api/api.js';
import { TextAreaField, TextField, Toggle } from '../ui/forms.js';
import { useI18n, type MessageKey } from '../i18n/i18n.js';
import { RubricaForm, type SaveNext } from './RubricaForm.js';
import type { AfterSave, Rights } from './Contacts.js';
import {
  contactImage,
  createContact,
  deleteContactImage,
  errorText,
  getContact,
  NO_CATEGORY_ID,
  putContactImage,
  updateContact,
  type Category,
  type Contact,
  type NumberType,
} from './contactsApi.js';

export const NUMBER_TYPE_KEY: Record<NumberType, MessageKey> = {
  mobile: 'numberMobile',
  work: 'numberWork',
  home: 'numberHome',
  fax: 'numberFax',
  other: 'numberOther',
};
const NUMBER_TYPES = Object.keys(NUMBER_TYPE_KEY) as NumberType[];

interface NumberRow {
  /** A stable React key: rows are added and removed in the middle. */
  key: number;
  type: NumberType;
  number: string;
  speedDial: string;
}

type Field = 'lastName' | 'firstName' | 'company' | 'notes' | 'externalId' | 'categoryId' | 'form';
type Errors = Partial<Record<Field, string>> & { numbers?: Record<string, string> };

let nextKey = 1;
const emptyRow = (): NumberRow => ({ key: nextKey++, type: 'mobile', number: '', speedDial: '' });

/** "Aggiungi contatto" / the contact's page: its fields, any number of Numeri rows, and the three save buttons. */
export function ContactForm({
  id,
  categories,
  rights,
  onSaved,
  onClose,
}: {
  id?: string | undefined;
  categories: Category[];
  rights: Rights;
  onSaved: (next: AfterSave<'contact'>) => void;
  onClose: () => void;
}): React.JSX.Element {
  const { t } = useI18n();
  const [contact, setContact] = useState<Contact | undefined>();
  const [loadError, setLoadError] = useState<string | undefined>();
  const [lastName, setLastName] = useState('');
  const [firstName, setFirstName] = useState('');
  const [company, setCompany] = useState('');
  const [notes, setNotes] = useState('');
  const [externalId, setExternalId] = useState('');
  // Someone who may write no shared category keeps personal contacts only.
  const [personal, setPersonal] = useState(!rights.canEditShared);
  const [categoryId, setCategoryId] = useState<string>(NO_CATEGORY_ID);
  const [numbers, setNumbers] = useState<NumberRow[]>([emptyRow()]);
  const [image, setImage] = useState<File | undefined>();
  const [removeImage, setRemoveImage] = useState(false);
  const [imageUrl, setImageUrl] = useState<string | undefined>();
  const [errors, setErrors] = useState<Errors>({});
  const [pending, setPending] = useState(false);
  const [saved, setSaved] = useState(false);

  // A new contact starts shared when the caller may write a category (the list may arrive after the form).
  const [personalTouched, setPersonalTouched] = useState(false);
  const firstWritable = rights.contactCategories[0]?.id;
  useEffect(() => {
    if (id) return;
    if (!personalTouched) setPersonal(!rights.canEditShared);
    setCategoryId((current) =>
      rights.contactCategories.some((c) => c.id === current) ? current : (firstWritable ?? NO_CATEGORY_ID),
    );
  }, [id, personalTouched, rights.canEditShared, rights.contactCategories, firstWritable]);
  useEffect(() => {
    if (!id) return;
    getContact(id).then(
      (c) => {
        setContact(c);
        setLastName(c.lastName);
        setFirstName(c.firstName);
        setCompany(c.company);
        setNotes(c.notes);
        setExternalId(c.externalId ?? '');
        setPersonal(c.personal);
        setCategoryId(c.categoryId ?? NO_CATEGORY_ID);
        setNumbers(
          c.numbers.length > 0
            ? c.numbers.map((n) => ({
                key: nextKey++,
                type: n.type,
                number: n.number,
                speedDial: n.speedDial ?? '',
              }))
            : [emptyRow()],
        );
      },
      (err: unknown) => setLoadError(errorText(err, t('genericError'))),
    );
  }, [id, t]);

  // The stored image comes with the bearer token, so it is shown from a blob: URL.
  useEffect(() => {
    if (!contact?.imageUrl) return;
    let url: string | undefined;
    let live = true;
    contactImage(contact.id).then(
      (blob) => {
        if (!live) return;
        url = URL.createObjectURL(blob);
        setImageUrl(url);
      },
      () => undefined,
    );
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [contact?.id, contact?.imageUrl]);

  const readOnly = contact !== undefined && !contact.canEdit;
  // The categories offered: those the caller may write, plus the contact's own (shown even if it is not one).
  const offered = rights.contactCategories.some((c) => c.id === categoryId)
    ? rights.contactCategories
    : [...rights.contactCategories, ...categories.filter((c) => c.id === categoryId)];

  const setRow = (key: number, patch: Partial<NumberRow>): void =>
    setNumbers(numbers.map((r) => (r.key === key ? { ...r, ...patch } : r)));

  async function save(next: SaveNext, event?: FormEvent): Promise<void> {
    event?.preventDefault();
    const local: Errors = {};
    if (![lastName, firstName, company].some((v) => v.trim())) local.lastName = t('required');
    setErrors(local);
    setSaved(false);
    if (Object.keys(local).length > 0) return;
    setPending(true);
    const rows = numbers.filter((r) => r.number.trim() || r.speedDial.trim());
    const body = {
      lastName: lastName.trim(),
      firstName: firstName.trim(),
      company: company.trim(),
      notes,
      personal,
      categoryId: personal || categoryId === NO_CATEGORY_ID ? null : categoryId,
      numbers: rows.map((r) => ({
        type: r.type,
        number: r.number.trim(),
        ...(r.speedDial.trim() ? { speedDial: r.speedDial.trim() } : {}),
      })),
    };
    try {
      let c = contact
        ? await updateContact(contact.id, { ...body, externalId: externalId.trim() || null })
        : await createContact({ ...body, ...(externalId.trim() ? { externalId: externalId.trim() } : {}) });
      if (image) c = await putContactImage(c.id, image);
      else if (removeImage && c.imageUrl) c = await deleteContactImage(c.id);
      if (next === 'list') onSaved({ kind: 'contacts' });
      else if (next === 'another') onSaved({ kind: 'contact' });
      else {
        onSaved({ kind: 'contact', id: c.id });
        setContact(c);
        setImage(undefined);
        setRemoveImage(false);
        setSaved(true);
      }
    } catch (err) {
      setErrors(fieldErrors(err, rows, t('genericError')));
    } finally {
      setPending(false);
    }
  }

  return (
    <RubricaForm
      titleId="rb-form-title"
      title={contact ? (readOnly ? contactTitle(contact) : t('editContact')) : t('addContact')}
      loading={id !== undefined && !contact}
      loadError={loadError}
      pending={pending}
      formError={errors.form}
      savedNotice={saved ? t('savedContact') : undefined}
      saveLabel={t('saveContact')}
      readOnly={readOnly}
      onSave={(next, e) => void save(next, e)}
      onClose={onClose}
    >
      <fieldset disabled={readOnly || pending} className="rb-fields">
        <div className="rb-row">
          <TextField
            id="rb-lastName"
            label={t('cLastName')}
            value={lastName}
            maxLength={100}
            error={errors.lastName}
            onValue={setLastName}
          />
          <TextField
            id="rb-firstName"
            label={t('cFirstName')}
            value={firstName}
            maxLength={100}
            error={errors.firstName}
            onValue={setFirstName}
          />
        </div>
        <TextField
          id="rb-company"
          label={t('cCompany')}
          value={company}
          maxLength={200}
          error={errors.company}
          onValue={setCompany}
        />
        <div className="field rb-image">
          <label htmlFor="rb-image">{t('cImage')}</label>
          {imageUrl && !removeImage && !image && (
            <img src={imageUrl} alt={t('cImage')} className="rb-avatar" />
          )}
          <input
            id="rb-image"
            type="file"
            accept="image/jpeg,image/png,image/webp,image/gif"
            onChange={(e) => setImage(e.target.files?.[0])}
          />
          {contact?.imageUrl && !readOnly && (
            <Toggle
              id="rb-image-remove"
              label={t('cRemoveImage')}
              checked={removeImage}
              onChange={setRemoveImage}
            />
          )}
        </div>
        <TextAreaField
          id="rb-notes"
          label={t('cNotes')}
          rows={3}
          maxLength={5000}
          value={notes}
          error={errors.notes}
          onValue={setNotes}
        />
        <TextField
          id="rb-externalId"
          label={t('cExternalId')}
          value={externalId}
          maxLength={200}
          error={errors.externalId}
          onValue={setExternalId}
        />
        <Toggle
          id="rb-personal"
          label={t('cPersonal')}
          checked={personal}
          // Nobody without a writable category may make a contact shared.
          onChange={(on) => {
            setPersonalTouched(true);
            setPersonal(on || !rights.canEditShared);
          }}
        />
        {!personal && (
          <div className="field">
            <label htmlFor="rb-category">{t('cCategory')}</label>
            <select
              id="rb-category"
              value={categoryId}
              aria-invalid={errors.categoryId ? true : undefined}
              aria-describedby={errors.categoryId ? 'rb-category-error' : undefined}
              onChange={(e) => setCategoryId(e.target.value)}
            >
              {!offered.some((c) => c.id === NO_CATEGORY_ID) && categoryId === NO_CATEGORY_ID && (
                <option value={NO_CATEGORY_ID} disabled>
                  -----
                </option>
              )}
              {offered.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.id === NO_CATEGORY_ID ? t('noCategory') : c.name}
                </option>
              ))}
            </select>
            {errors.categoryId && (
              <p className="field-error" id="rb-category-error" role="alert">
                {errors.categoryId}
              </p>
            )}
          </div>
        )}
        <fieldset className="rb-numbers">
          <legend>{t('cNumbers').toUpperCase()}</legend>
          {numbers.map((r, i) => (
            <div className="rb-number" key={r.key} data-testid="rb-number-row">
              <div className="field">
                <label htmlFor={`rb-num-type-${r.key}`}>{t('cNumberType')}</label>
                <select
                  id={`rb-num-type-${r.key}`}
                  value={r.type}
                  onChange={(e) => setRow(r.key, { type: e.target.value as NumberType })}
                >
                  {NUMBER_TYPES.map((type) => (
                    <option key={type} value={type}>
                      {t(NUMBER_TYPE_KEY[type])}
                    </option>
                  ))}
                </select>
              </div>
              <TextField
                id={`rb-num-${r.key}`}
                label={t('cNumber')}
                type="tel"
                inputMode="tel"
                maxLength={40}
                value={r.number}
                error={errors.numbers?.[`${r.key}.number`]}
                onValue={(v) => setRow(r.key, { number: v })}
              />
              <TextField
                id={`rb-num-speed-${r.key}`}
                label={t('cSpeedDial')}
                inputMode="numeric"
                maxLength={6}
                value={r.speedDial}
                error={errors.numbers?.[`${r.key}.speedDial`]}
                onValue={(v) => setRow(r.key, { speedDial: v })}
              />
              {!readOnly && (
                <button
                  type="button"
                  className="link rb-remove"
                  aria-label={t('cRemoveNumber', { n: i + 1 })}
                  onClick={() =>
                    setNumbers(numbers.length > 1 ? numbers.filter((x) => x.key !== r.key) : [emptyRow()])
                  }
                >
                  ×
                </button>
              )}
            </div>
          ))}
          {!readOnly && (
            <button
              type="button"
              className="link"
              onClick={() => {
                const row = emptyRow();
                setNumbers([...numbers, row]);
                // The new row's first field takes the focus, so the keyboard goes on typing.
                setTimeout(() => document.getElementById(`rb-num-type-${row.key}`)?.focus(), 0);
              }}
            >
              + {t('cAddNumber')}
            </button>
          )}
        </fieldset>
      </fieldset>
    </RubricaForm>
  );
}

function contactTitle(c: Contact): string {
  return `${c.lastName} ${c.firstName}`.trim() || c.company;
}

/**
 * The server's answer, on the fields it names: VALIDATION_FAILED details (`numbers.1.speedDial` is the second
 * kept row), else the whole `{ error: { code, message } }` above the buttons.
 */
function fieldErrors(err: unknown, rows: NumberRow[], fallback: string): Errors {
  const out: Errors = {};
  if (err instanceof ApiError && err.code === 'VALIDATION_FAILED' && err.details.length > 0) {
    for (const d of err.details) {
      const [head, index, leaf] = d.path.split('.');
      const row = head === 'numbers' ? rows[Number(index)] : undefined;
      if (row) out.numbers = { ...out.numbers, [`${row.key}.${leaf ?? 'number'}`]: d.message };
      else if (
        head === 'lastName' ||
        head === 'firstName' ||
        head === 'company' ||
        head === 'notes' ||
        head === 'externalId' ||
        head === 'categoryId'
      )
        out[head] = d.message;
    }
  }
  if (Object.keys(out).length === 0) out.form = errorText(err, fallback);
  return out;
}
