import { useCallback, useEffect, useState } from 'react';
import type { Profile } from '../api/api.js';
import { useI18n } from '../i18n/i18n.js';
import { CategoryForm } from './CategoryForm.js';
import { CategoryList } from './CategoryList.js';
import { ContactForm } from './ContactForm.js';
import { ContactList } from './ContactList.js';
import { errorText, listCategories, NO_CATEGORY_ID, type Category } from './contactsApi.js';

type Screen =
  | { kind: 'contacts' }
  | { kind: 'contact'; id?: string }
  | { kind: 'categories' }
  | { kind: 'category'; id?: string };

/** What the caller may do, from the profile and the categories' own flags (the server decides; we only hide). */
export interface Rights {
  admin: boolean;
  /** The categories the caller may put shared contacts in ("No category" for admins only). */
  contactCategories: Category[];
  /** Any shared contact at all: otherwise the caller only keeps personal contacts. */
  canEditShared: boolean;
}

export function rightsOf(profile: Profile, categories: Category[]): Rights {
  const admin = profile.role === 'admin';
  const contactCategories = categories.filter((c) =>
    c.id === NO_CATEGORY_ID ? admin : admin || c.canEditContacts,
  );
  return { admin, contactCategories, canEditShared: contactCategories.length > 0 };
}

/** The Rubrica tab (manual 2.2.3): Contatti and Categorie, each a list and its form. */
export function Contacts({ profile }: { profile: Profile }): React.JSX.Element {
  const { t } = useI18n();
  const [screen, setScreen] = useState<Screen>({ kind: 'contacts' });
  // Bumped by "Salva e aggiungi un altro": a fresh form, even when the last one was new too.
  const [formKey, setFormKey] = useState(0);
  // Back from a form, the focus returns to what opened it: the row's name, or the add button.
  const [opener, setOpener] = useState<string | undefined>();
  const open = (next: Screen & { kind: 'contact' | 'category' }): void => {
    const prefix = next.kind === 'contact' ? 'rb-open-contact' : 'rb-open-category';
    setOpener(
      next.id ? `${prefix}-${next.id}` : next.kind === 'contact' ? 'rb-add-contact' : 'rb-add-category',
    );
    after(next);
  };
  const after = (next: Screen): void => {
    if ((next.kind === 'contact' || next.kind === 'category') && !next.id) setFormKey((k) => k + 1);
    setScreen(next);
  };
  const [categories, setCategories] = useState<Category[]>([]);
  const [categoriesError, setCategoriesError] = useState<string | undefined>();

  const reloadCategories = useCallback(() => {
    listCategories().then(
      (r) => {
        setCategories(r.items);
        setCategoriesError(undefined);
      },
      (err: unknown) => setCategoriesError(errorText(err, t('genericError'))),
    );
  }, [t]);
  useEffect(reloadCategories, [reloadCategories]);
  const rights = rightsOf(profile, categories);
  const onCategories = screen.kind === 'categories' || screen.kind === 'category';

  return (
    <div className="rb">
      <div className="section-head">
        <h2 id="rb-title">{t('contactsNav')}</h2>
        <div className="segmented" role="group" aria-labelledby="rb-title">
          <button
            aria-pressed={!onCategories}
            onClick={() => {
              setOpener(undefined);
              setScreen({ kind: 'contacts' });
            }}
          >
            {t('contactsTitle')}
          </button>
          <button
            aria-pressed={onCategories}
            onClick={() => {
              setOpener(undefined);
              setScreen({ kind: 'categories' });
            }}
          >
            {t('categoriesTitle')}
          </button>
        </div>
      </div>
      {categoriesError && (
        <p className="form-error" role="alert">
          {categoriesError}
        </p>
      )}
      {screen.kind === 'contacts' && (
        <ContactList
          categories={categories}
          rights={rights}
          focusId={opener}
          onOpen={(id) => open(id ? { kind: 'contact', id } : { kind: 'contact' })}
        />
      )}
      {screen.kind === 'contact' && (
        <ContactForm
          key={formKey}
          id={screen.id}
          categories={categories}
          rights={rights}
          onSaved={after}
          onClose={() => setScreen({ kind: 'contacts' })}
        />
      )}
      {screen.kind === 'categories' && (
        <CategoryList
          categories={categories}
          rights={rights}
          onChanged={reloadCategories}
          focusId={opener}
          onOpen={(id) => open(id ? { kind: 'category', id } : { kind: 'category' })}
        />
      )}
      {screen.kind === 'category' && (
        <CategoryForm
          key={formKey}
          id={screen.id}
          onSaved={(next) => {
            reloadCategories();
            after(next);
          }}
          onClose={() => setScreen({ kind: 'categories' })}
        />
      )}
    </div>
  );
}

/** Where a form goes after a save: the list, a fresh form, or the same record kept open. */
export type AfterSave<K extends 'contact' | 'category'> =
  { kind: K extends 'contact' ? 'contacts' : 'categories' } | { kind: K; id?: string };
