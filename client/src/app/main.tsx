import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { applyPreferences, storedPreferences } from './i18n.js';

const hint = storedPreferences();
applyPreferences(hint.language, hint.darkTheme);
const root = document.getElementById('root');
if (root) createRoot(root).render(<App />);
