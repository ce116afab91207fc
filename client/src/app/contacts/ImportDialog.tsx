import { useState } from 'react';
import { Toggle } from '../ui/forms.js';
import { useI18n, type MessageKey } from '../i18n/i18n.js';
import type { Rights } from './Contacts.js';
import {
  errorText,
  importContacts,
  NO_CATEGORY_ID,
  type ContactFileFormat,
  type ImportReport,
  type ImportRow,
} from './contactsApi.js';
import { Dialog } from './Dialog.js';

const TITLE: Record<ContactFileFormat, MessageKey> = {
  outlook: 'uploadOutlook',
  vcard: 'uploadVcard',
  csv: 'uploadCsv',
};
const ACCEPT: Record<ContactFileFormat, string> = {
  outlook: '.csv,text/csv',
  vcard: '.vcf,.vcard,text/vcard,text/x-vcard',
  csv: '.csv,text/csv',
};
const OUTCOME: Record<ImportRow['action'], MessageKey> = {
  created: 'outcomeCreated',
  updated: 'outcomeUpdated',
  skipped: 'outcomeSkipped',
};

/**
 * One of the three uploads: the file goes first as a dry run, whose report (created / updated / skipped and why,
 * per row) the user reads before confirming the real import of the same file.
 */
export function ImportDialog({
  format,
  rights,
  onClose,
}: {
  format: ContactFileFormat;
  rights: Rights;
  onClose: (changed: boolean) => void;
}): React.JSX.Element {
  const { t } = useI18n();
  const [file, setFile] = useState<File | undefined>();
  // Admins may import into "No category" (no parameter); others into a category they may write.
  const [category, setCategory] = useState(
    rights.admin ? NO_CATEGORY_ID : (rights.contactCategories[0]?.id ?? ''),
  );
  // Without a category to write into, only personal contacts can be imported.
  const [personal, setPersonal] = useState(!rights.canEditShared);
  const [report, setReport] = useState<ImportReport | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const done = report !== undefined && !report.dryRun;

  async function send(chosen: File, dryRun: boolean, opts = { category, personal }): Promise<void> {
    setBusy(true);
    setError(undefined);
    try {
      setReport(
        await importContacts(chosen, {
          format,
          dryRun,
          personal: opts.personal,
          category: opts.personal ? undefined : opts.category || undefined,
        }),
      );
    } catch (err) {
      setReport(undefined);
      setError(errorText(err, t('genericError')));
    } finally {
      setBusy(false);
    }
  }
  // A changed option makes a new preview: what is confirmed is always what was shown.
  const reconsider = (opts: { category: string; personal: boolean }): void => {
    if (file && !done) void send(file, true, opts);
  };

  return (
    <Dialog title={t(TITLE[format])} onClose={() => onClose(done)} className="rb-import">
      <div className="field">
        <label htmlFor="rb-import-file">{t('importChoose')}</label>
        <input
          id="rb-import-file"
          type="file"
          accept={ACCEPT[format]}
          disabled={busy || done}
          onChange={(e) => {
            const chosen = e.target.files?.[0];
            setFile(chosen);
            setReport(undefined);
            if (chosen) void send(chosen, true);
          }}
        />
      </div>
      {rights.canEditShared && (
        <>
          <div className="field">
            <label htmlFor="rb-import-category">{t('importCategory')}</label>
            <select
              id="rb-import-category"
              value={category}
              disabled={personal || busy || done}
              onChange={(e) => {
                setCategory(e.target.value);
                reconsider({ category: e.target.value, personal });
              }}
            >
              {rights.contactCategories.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.id === NO_CATEGORY_ID ? t('noCategory') : c.name}
                </option>
              ))}
            </select>
          </div>
          <Toggle
            id="rb-import-personal"
            label={t('importPersonal')}
            checked={personal}
            onChange={(on) => {
              setPersonal(on);
              reconsider({ category, personal: on });
            }}
          />
        </>
      )}
      {busy && (
        <p role="status">
          <span className="spinner" aria-hidden="true" /> {t('loading')}
        </p>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {report && (
        <div className="rb-report" data-testid="rb-import-report">
          <p role="status">
            <strong>{report.dryRun ? t('importPreview') : t('importDone')}</strong>
          </p>
          <p className="rb-counts">
            <span className="pill">{t('importCreated', { n: report.created })}</span>{' '}
            <span className="pill">{t('importUpdated', { n: report.updated })}</span>{' '}
            <span className="pill">{t('importSkipped', { n: report.skipped })}</span>
          </p>
          {report.rows.length > 0 && (
            <div className="rb-report-rows">
              <table className="rb-table">
                <thead>
                  <tr>
                    <th scope="col">{t('importRow')}</th>
                    <th scope="col">{t('importName')}</th>
                    <th scope="col">{t('importOutcome')}</th>
                    <th scope="col">{t('importReason')}</th>
                  </tr>
                </thead>
                <tbody>
                  {report.rows.map((r) => (
                    <tr key={r.row} className={`rb-${r.action}`}>
                      <td data-label={t('importRow')}>{r.row}</td>
                      <td data-label={t('importName')}>{r.name ?? ''}</td>
                      <td data-label={t('importOutcome')}>{t(OUTCOME[r.action])}</td>
                      <td data-label={t('importReason')}>{r.reason ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
      )}
      <div className="actions">
        {!done && (
          <button
            type="button"
            className="primary"
            disabled={!file || !report || busy || report.created + report.updated === 0}
            onClick={() => file && void send(file, false)}
          >
            {t('importConfirm')}
          </button>
        )}
        <button type="button" onClick={() => onClose(done)}>
          {done ? t('close') : t('cancel')}
        </button>
      </div>
    </Dialog>
  );
}
