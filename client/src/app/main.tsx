import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { applyPreferences, storedPreferences } from './i18n/i18n.js';

const hint = storedPreferences();
applyPreferences(hint.language, hint.darkTheme);
const root = document.getElementById('root');
if (root) createRoot(root).render(<App />);

// The service worker keeps the app shell for offline starts. Only in a build (the dev server has no sw.js)
// and only where browsers allow one (https, or localhost).
if (import.meta.env.PROD && window.isSecureContext && 'serviceWorker' in navigator) {
  window.addEventListener('load', () => {
    // A failure is not the user's concern: the app works the same, only not offline.
    navigator.serviceWorker.register('/sw.js').catch(() => undefined);
  });
}
