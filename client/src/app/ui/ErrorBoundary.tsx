import { Component, type ReactNode } from 'react';
import { useI18n } from '../i18n/i18n.js';

/**
 * The last line: a render error (or a lazy chunk that no longer exists because a new version was deployed
 * since the page loaded) shows a way out instead of a blank page. React itself logs the error.
 */
export class ErrorBoundary extends Component<{ children: ReactNode }, { failed: boolean }> {
  override state = { failed: false };

  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }

  override render(): ReactNode {
    return this.state.failed ? <Failed /> : this.props.children;
  }
}

function Failed(): React.JSX.Element {
  const { t } = useI18n();
  return (
    <main className="centered">
      <section className="card status-card" role="alert">
        <h2>{t('appFailed')}</h2>
        <p className="muted">{t('appFailedHint')}</p>
        <button className="primary" onClick={() => location.reload()}>
          {t('reload')}
        </button>
      </section>
    </main>
  );
}
